package imapsrc

import "strings"

// xoauth2Client is the SASL XOAUTH2 mechanism used by Gmail and Microsoft
// 365: the initial response carries the user name and a bearer token. On
// failure the server sends a JSON error as a challenge, which must be
// answered with an empty response before the final NO arrives.
type xoauth2Client struct {
	username, token string
	serverErr       string
}

func (x *xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.username + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

func (x *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	// The challenge is a JSON error description ({"status":"401",...}); it
	// never contains the token. Keep a bounded copy for the error message.
	s := strings.TrimSpace(string(challenge))
	if len(s) > 200 {
		s = s[:200]
	}
	x.serverErr = s
	return []byte{}, nil
}

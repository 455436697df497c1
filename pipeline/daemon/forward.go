package daemon

import (
	"bytes"
	"fmt"
	"mime"
	"net/mail"
	"strings"

	"triage/pipeline"
)

// detectForward recognises a report: a message whose only substantial
// attachment is another message (message/rfc822, .eml, or .msg), which is
// how staff forward suspicious mail "as attachment" and how the Outlook and
// Gmail report buttons deliver it. It returns the reporter (the outer From)
// and the attached message's headers, or nil when the message is not such
// a report.
//
// The caller then judges the attached message alone (Report.Subtree): the
// forwarding mail's own traits (a "Fwd:" subject, the reporter's address)
// must not weigh on the verdict.
func detectForward(rep *pipeline.Report) (reporter string, reported *Reported) {
	var root *pipeline.Artifact
	for _, a := range rep.Artifacts {
		if a.Parent == "" {
			root = a
			break
		}
	}
	if root == nil || (root.Type != "eml" && root.Type != "msg") {
		return "", nil
	}
	var inner *pipeline.Artifact
	for _, a := range rep.Artifacts {
		if a.Parent != root.ID || !substantial(a) {
			continue
		}
		if inner != nil {
			return "", nil // more than one attachment: an ordinary message
		}
		inner = a
	}
	if inner == nil || (inner.Type != "eml" && inner.Type != "msg") {
		return "", nil
	}
	r := &Reported{
		Subject:   metaString(inner, "subject"),
		From:      metaString(inner, "from"),
		To:        metaString(inner, "to"),
		Date:      metaString(inner, "date"),
		MessageID: metaString(inner, "message_id"),
		Artifact:  inner.ID,
		Type:      inner.Type,
	}
	return rep.Message.From, r
}

// substantial tells attachments from the body of the forwarding message:
// text and HTML body parts and inline images (signature logos) are not.
func substantial(a *pipeline.Artifact) bool {
	disp := strings.ToLower(metaString(a, "disposition"))
	switch a.Type {
	case "empty":
		return false
	case "text", "html":
		return disp == "attachment"
	case "image":
		return disp == "attachment" && a.Size > 16<<10
	}
	return true
}

func metaString(a *pipeline.Artifact, k string) string {
	v, ok := a.Meta[k]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// headerInfo reads the top-level header fields of a raw message without
// the engine (for a message the engine could not judge).
func headerInfo(raw []byte) pipeline.MessageInfo {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return pipeline.MessageInfo{}
	}
	dec := new(mime.WordDecoder)
	get := func(k string) string {
		v := m.Header.Get(k)
		if d, err := dec.DecodeHeader(v); err == nil {
			v = d
		}
		return strings.TrimSpace(v)
	}
	return pipeline.MessageInfo{Subject: get("Subject"), From: get("From"), To: get("To"), Date: get("Date"),
		MessageID: strings.Trim(get("Message-Id"), "<>"), ReplyTo: get("Reply-To"), Cc: get("Cc")}
}

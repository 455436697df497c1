package msg

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/text/encoding/japanese"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/parsertest"
	"triage/samples/gen/office/cfb"
)

// props builds the property streams of one message, attachment or
// recipient.
type props struct {
	streams     map[string][]byte
	fixed       [][2]uint64 // tag<<16|type, value
	attachments []*props
	recipients  []*props
	embedded    *props // for an attachment: the embedded message
}

func newProps() *props { return &props{streams: map[string][]byte{}} }

func (p *props) unicode(tag uint16, s string) *props {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	p.streams[fmt.Sprintf("__substg1.0_%04X001F", tag)] = append(b, 0, 0)
	return p
}

func (p *props) string8(tag uint16, b []byte) *props {
	p.streams[fmt.Sprintf("__substg1.0_%04X001E", tag)] = append(append([]byte(nil), b...), 0)
	return p
}

func (p *props) binary(tag uint16, b []byte) *props {
	p.streams[fmt.Sprintf("__substg1.0_%04X0102", tag)] = b
	return p
}

func (p *props) long(tag uint16, v uint32) *props {
	p.fixed = append(p.fixed, [2]uint64{uint64(tag)<<16 | ptLong, uint64(v)})
	return p
}

func (p *props) time(tag uint16, t time.Time) *props {
	ft := uint64(t.UnixNano()/100) + 116444736000000000
	p.fixed = append(p.fixed, [2]uint64{uint64(tag)<<16 | ptSysTime, ft})
	return p
}

// put writes p below st; header is the properties stream header size.
func (p *props) put(st *cfb.Storage, header int) {
	for name, b := range p.streams {
		st.Stream(name, b)
	}
	pv := make([]byte, header)
	for _, f := range p.fixed {
		var e [16]byte
		binary.LittleEndian.PutUint32(e[0:], uint32(f[0]))
		binary.LittleEndian.PutUint32(e[4:], 6)
		binary.LittleEndian.PutUint64(e[8:], f[1])
		pv = append(pv, e[:]...)
	}
	st.Stream(propertiesName, pv)
	for i, r := range p.recipients {
		r.put(st.Storage(fmt.Sprintf("%s%08X", recipPrefix, i)), itemHeaderSize)
	}
	for i, a := range p.attachments {
		as := st.Storage(fmt.Sprintf("%s%08X", attachPrefix, i))
		a.put(as, itemHeaderSize)
		if a.embedded != nil {
			a.embedded.put(as.Storage("__substg1.0_3701000D"), embedHeaderSize)
		}
	}
}

func msgFile(t testing.TB, top *props) []byte {
	t.Helper()
	root := cfb.NewRoot(cfb.CLSID{})
	top.put(root, topHeaderSize)
	b, err := cfb.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fileAttachment(name, mimeType string, data []byte) *props {
	a := newProps().unicode(tagAttachLongFilename, name).binary(tagAttachData, data).long(tagAttachMethod, attachByValue)
	if mimeType != "" {
		a.unicode(tagAttachMimeTag, mimeType)
	}
	return a
}

func recipientProps(name, addr string, typ uint32) *props {
	return newProps().unicode(tagDisplayName, name).unicode(tagSMTPAddress, addr).long(tagRecipientType, typ)
}

const transportHeaders = "Received: from mx.example.invalid (127.0.0.1) by mail.example.invalid;\r\n Mon, 18 Nov 2019 08:26:09 +0900\r\n" +
	"Authentication-Results: mail.example.invalid; spf=fail smtp.mailfrom=example.invalid\r\n" +
	"From: =?UTF-8?B?5bGx55SwIOWkqumDjg==?= <taro@free-mail.example>\r\n" +
	"To: \"Sato, Hanako\" <hanako@example.invalid>\r\n" +
	"Subject: =?UTF-8?B?UkU6IOiri+axguabuOOBruS7tg==?=\r\n" +
	"Date: Mon, 18 Nov 2019 08:26:09 +0900\r\n" +
	"Message-ID: <top@example.invalid>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed;\r\n boundary=\"old\"\r\n"

func TestParse_message(t *testing.T) {
	payload := []byte("WScript.Echo(\"TRIAGE-REGRESSION\")")
	inner := newProps().
		unicode(tagSubject, "Invoice 42").
		unicode(tagSenderName, "Billing").unicode(tagSenderSMTP, "billing@example.invalid").
		unicode(tagBody, "See the attached invoice.").
		unicode(tagMessageID, "<inner@example.invalid>").
		time(tagClientSubmitTime, time.Date(2019, 11, 17, 10, 0, 0, 0, time.UTC))
	inner.recipients = []*props{recipientProps("Sato, Hanako", "hanako@example.invalid", 1)}
	inner.attachments = []*props{fileAttachment("請求書.js", "application/javascript", payload)}
	embedded := newProps().unicode(tagDisplayName, "Invoice 42").long(tagAttachMethod, attachEmbeddedMessage)
	embedded.embedded = inner

	top := newProps().
		unicode(tagSubject, "RE: 請求書の件").
		unicode(tagTransportHeaders, transportHeaders).
		unicode(tagBody, "コンテンツの有効化をクリックしてください").
		binary(tagHTML, []byte("<html><body><a href=\"http://127.0.0.1:9/x\">x</a></body></html>")).
		unicode(tagMessageID, "<top@example.invalid>").
		unicode(tagMessageClass, "IPM.Note").
		long(tagMessageCodepage, 65001)
	top.recipients = []*props{recipientProps("Sato, Hanako", "hanako@example.invalid", 1)}
	top.attachments = []*props{fileAttachment("report.pdf", "application/pdf", []byte("%PDF-1.4 TRIAGE-REGRESSION")), embedded}
	data := msgFile(t, top)
	if typ := filetype.Detect(data, "x.msg"); typ != "msg" {
		t.Fatalf("generated file detected as %q", typ)
	}

	rec, err := parsertest.Run(t, New(), "x.msg", "msg", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := map[string]string{
		"subject":    "RE: 請求書の件",
		"from":       "山田 太郎 <taro@free-mail.example>",
		"to":         "Sato, Hanako <hanako@example.invalid>",
		"date":       "2019-11-17T23:26:09Z",
		"message_id": "top@example.invalid",
	}
	for k, v := range want {
		if rec.MetaData[k] != v {
			t.Errorf("meta %s = %q, want %q", k, rec.MetaData[k], v)
		}
	}
	if ar, _ := rec.MetaData["authentication_results"].([]string); len(ar) != 1 || !strings.Contains(ar[0], "spf=fail") {
		t.Errorf("authentication_results = %v", rec.MetaData["authentication_results"])
	}
	names := []string{}
	for _, c := range rec.Children {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "body.txt,body.html,report.pdf,Invoice 42.eml" {
		t.Fatalf("children = %s", got)
	}
	body := rec.Children[0]
	if body.Type != "text" || body.Text || string(body.Data) != "コンテンツの有効化をクリックしてください" {
		t.Errorf("body child = %+v", body)
	}
	if rec.Children[1].Type != "" || !bytes.Contains(rec.Children[1].Data, []byte("127.0.0.1:9")) {
		t.Errorf("html child = %+v", rec.Children[1])
	}
	if string(rec.Children[2].Data) != "%PDF-1.4 TRIAGE-REGRESSION" {
		t.Errorf("attachment data = %q", rec.Children[2].Data)
	}

	// The embedded message is a well-formed .eml carrying its attachment.
	eml := rec.Children[3].Data
	if typ := filetype.Detect(eml, "x.eml"); typ != "eml" {
		t.Errorf("synthetic eml detected as %q", typ)
	}
	m, err := mail.ReadMessage(bytes.NewReader(eml))
	if err != nil {
		t.Fatalf("synthetic eml: %v\n%s", err, eml)
	}
	if m.Header.Get("Subject") != "Invoice 42" || m.Header.Get("Message-Id") != "<inner@example.invalid>" {
		t.Errorf("eml headers: %v", m.Header)
	}
	if from, err := m.Header.AddressList("From"); err != nil || from[0].Address != "billing@example.invalid" {
		t.Errorf("eml From = %v %v", from, err)
	}
	if d, err := m.Header.Date(); err != nil || !d.Equal(time.Date(2019, 11, 17, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("eml Date = %v %v", d, err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p) // multipart decodes quoted-printable itself
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts = append(parts, ct+":"+p.FileName())
		if p.FileName() == "請求書.js" {
			dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
			if err != nil || !bytes.Equal(dec, payload) {
				t.Errorf("attachment in eml = %q (%v)", dec, err)
			}
		}
		if ct == "text/plain" && string(b) != "See the attached invoice." {
			t.Errorf("eml text body = %q", b)
		}
	}
	if got := strings.Join(parts, ","); got != "text/plain:,application/javascript:請求書.js" {
		t.Errorf("eml parts = %s", got)
	}
}

func TestParse_propertiesOnly(t *testing.T) {
	sjis, _ := japanese.ShiftJIS.NewEncoder().Bytes([]byte("見積書"))
	top := newProps().
		string8(tagSubject, sjis).
		long(tagMessageCodepage, 932).
		unicode(tagSentReprName, "Accounts").
		unicode(tagSenderEmail, "/O=EXCHANGE/OU=GROUP/CN=RECIPIENTS/CN=ACCOUNTS").
		unicode(tagSenderSMTP, "accounts@example.invalid").
		unicode(tagDisplayTo, "Hanako Sato").
		time(tagClientSubmitTime, time.Date(2020, 1, 29, 1, 2, 3, 0, time.UTC))
	rec, err := parsertest.Run(t, New(), "p.msg", "msg", msgFile(t, top))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := map[string]any{
		"subject":  "見積書",
		"from":     "Accounts <accounts@example.invalid>",
		"to":       "Hanako Sato",
		"date":     "2020-01-29T01:02:03Z",
		"codepage": uint32(932),
	}
	for k, v := range want {
		if rec.MetaData[k] != v {
			t.Errorf("meta %s = %#v, want %#v", k, rec.MetaData[k], v)
		}
	}
	if len(rec.Children) != 0 || len(rec.Findings) != 0 {
		t.Errorf("children %d findings %+v, want none", len(rec.Children), rec.Findings)
	}
}

// The MS-OXRTFCP 3.1.1 example: compressed "{\rtf1\ansi\ansicpg1252\pard
// hello world}\r\n".
var rtfExample = []byte{0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7, 0xa7,
	0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a, 0xf3, 0x20, 0x68, 0x65, 0x6c,
	0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f, 0xa0}

func TestDecompressRTF(t *testing.T) {
	if len(lzfuDict) != 207 {
		t.Fatalf("dictionary is %d bytes, want 207", len(lzfuDict))
	}
	out, cut, err := decompressRTF(rtfExample, 1<<20)
	if err != nil || cut || string(out) != "{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n" {
		t.Fatalf("decompress = %q, cut %v, err %v", out, cut, err)
	}
	if out, cut, _ := decompressRTF(rtfExample, 10); !cut || len(out) != 10 {
		t.Errorf("limited decompress = %q, cut %v", out, cut)
	}
	for _, bad := range [][]byte{nil, rtfExample[:12], append([]byte{0, 0, 0, 0, 0, 0, 0, 0, 'X', 'X', 'X', 'X'}, make([]byte, 8)...)} {
		if _, _, err := decompressRTF(bad, 100); err == nil {
			t.Errorf("decompressRTF(%x) did not fail", bad)
		}
	}
}

func TestParse_rtfBody(t *testing.T) {
	top := newProps().unicode(tagSubject, "s").binary(tagRTFCompressed, rtfExample)
	rec, err := parsertest.Run(t, New(), "r.msg", "msg", msgFile(t, top))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(rec.Children) != 1 || rec.Children[0].Name != "body.rtf" || !bytes.HasPrefix(rec.Children[0].Data, []byte(`{\rtf1`)) {
		t.Fatalf("children = %+v", rec.Children)
	}
}

func TestParse_hostile(t *testing.T) {
	many := newProps().unicode(tagSubject, "many")
	for i := 0; i < maxAttachments+5; i++ {
		many.attachments = append(many.attachments, newProps().long(tagAttachMethod, attachByValue))
	}
	deep := newProps().unicode(tagSubject, "level 0")
	cur := deep
	for i := 1; i <= maxNesting+2; i++ {
		next := newProps().unicode(tagSubject, fmt.Sprintf("level %d", i))
		a := newProps().long(tagAttachMethod, attachEmbeddedMessage)
		a.embedded = next
		cur.attachments = []*props{a}
		cur = next
	}
	big := newProps().unicode(tagSubject, "big")
	big.attachments = []*props{fileAttachment("big.bin", "", bytes.Repeat([]byte("A"), 300*parsers.KiB))}
	small := parsers.DefaultLimits()
	small.MaxArtifactBytes = 64 * parsers.KiB
	tests := []struct {
		name    string
		data    []byte
		limits  parsers.Limits
		errIs   error
		finding string
		// maxChild bounds each child's size (0: no bound).
		maxChild int
	}{
		{"broken_cfb", append([]byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}, bytes.Repeat([]byte{0xfe}, 700)...), parsers.DefaultLimits(), parsers.ErrMalformed, "msg.malformed", 0},
		{"not_cfb", []byte("From: a@example.invalid\r\n\r\nhi"), parsers.DefaultLimits(), parsers.ErrMalformed, "msg.malformed", 0},
		{"many_attachments", msgFile(t, many), parsers.DefaultLimits(), parsers.ErrTooMany, "msg.limit", 0},
		{"deep_embedding", msgFile(t, deep), parsers.DefaultLimits(), parsers.ErrTooDeep, "msg.limit", 0},
		{"big_attachment", msgFile(t, big), small, parsers.ErrTooLarge, "msg.limit", 0},
		// An 8 KiB file whose attachment stream declares 2 GiB over a
		// sector chain that loops: mscfb would read it round and round.
		{"looping_stream", loopingAttachment(t), parsers.DefaultLimits(), parsers.ErrMalformed, "msg.malformed", 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := parsertest.RunLimits(t, New(), "h.msg", "msg", tt.data, tt.limits)
			if !errors.Is(err, tt.errIs) {
				t.Errorf("err = %v, want %v", err, tt.errIs)
			}
			if !rec.HasFinding(tt.finding) {
				t.Errorf("no %s: %+v", tt.finding, rec.Findings)
			}
			for _, c := range rec.Children {
				if tt.maxChild > 0 && len(c.Data) > tt.maxChild {
					t.Errorf("child %s of %d bytes from a %d-byte file", c.Name, len(c.Data), len(tt.data))
				}
			}
		})
	}
}

// loopingAttachment returns a .msg whose attachment data stream (FAT
// sectors) declares 2 GiB and whose third sector links back to the first.
func loopingAttachment(t *testing.T) []byte {
	top := newProps().unicode(tagSubject, "loop")
	top.attachments = []*props{fileAttachment("a.bin", "", bytes.Repeat([]byte("A"), 5000))}
	d := msgFile(t, top)
	var name []byte
	for _, u := range utf16.Encode([]rune(fmt.Sprintf("__substg1.0_%04X0102", tagAttachData))) {
		name = binary.LittleEndian.AppendUint16(name, u)
	}
	entry := bytes.Index(d, name)
	if entry < 0 {
		t.Fatal("attachment data stream not found")
	}
	start := binary.LittleEndian.Uint32(d[entry+116:])
	binary.LittleEndian.PutUint32(d[entry+120:], 0x7FFFFFF0)
	fat := 512 * (int(binary.LittleEndian.Uint32(d[0x4C:])) + 1)
	binary.LittleEndian.PutUint32(d[fat+4*int(start+2):], start)
	return d
}

// TestParse_deepStorages checks that storages nested thousands deep
// (quadratic memory in mscfb) are refused before mscfb opens the file,
// while a message with a few extra levels is still read.
func TestParse_deepStorages(t *testing.T) {
	for _, tt := range []struct {
		depth   int
		wantErr error
	}{{4, nil}, {6000, parsers.ErrTooDeep}} {
		root := cfb.NewRoot(cfb.CLSID{})
		newProps().unicode(tagSubject, "Invoice 42").put(root, topHeaderSize)
		root.Put(strings.Repeat("a/", tt.depth)+"s", []byte("TRIAGE-REGRESSION"))
		data, err := cfb.Marshal(root)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := parsertest.Run(t, New(), "deep.msg", "msg", data)
		if !errors.Is(err, tt.wantErr) {
			t.Fatalf("depth %d: err %v, want %v", tt.depth, err, tt.wantErr)
		}
		if tt.wantErr == nil {
			if rec.MetaData["subject"] != "Invoice 42" {
				t.Errorf("depth %d: subject %#v", tt.depth, rec.MetaData["subject"])
			}
		} else if !rec.HasFinding("msg.limit") {
			t.Errorf("depth %d: findings %+v, want msg.limit", tt.depth, rec.Findings)
		}
	}
}

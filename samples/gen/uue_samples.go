package main

import (
	"strings"
	"time"
)

// uueSamples are the uuencoded-attachment samples: malspam sends .uue files
// (and begin … end blocks) that gateways which only open MIME attachments
// pass unread.
func uueSamples() []Sample {
	return []Sample{
		{"malicious", "uue-zip-js", "engine", 0,
			"uuencoded attachment (as in 2020s Agent Tesla / Formbook purchase-order waves): PO_4471.uue (application/octet-stream, base64) whose text is a begin 644 PO_4471.zip … end block; the zip holds PO_4471.pdf.js, WScript.Echo(\"TRIAGE-REGRESSION\").",
			true, uueZipJS},
		{"clean", "uue-mention", "engine", 0,
			"Near miss for uuencoded attachments: an internal admin note explaining uuencode in prose (one line even starts with begin 644 report.txt but no data follows) with a genuine uuencoded README.txt example block inline.",
			false, uueMention},
	}
}

// uuencode writes name and data as one uuencode block (backtick for zero,
// 45 bytes a line, LF line ends: the MIME writer makes them CRLF).
func uuencode(name string, data []byte) string {
	ch := func(v byte) byte {
		if v&0x3f == 0 {
			return '`'
		}
		return v&0x3f + 0x20
	}
	var b strings.Builder
	b.WriteString("begin 644 " + name + "\n")
	for i := 0; i < len(data); i += 45 {
		chunk := data[i:min(i+45, len(data))]
		b.WriteByte(ch(byte(len(chunk))))
		for j := 0; j < len(chunk); j += 3 {
			var g [3]byte
			copy(g[:], chunk[j:])
			b.Write([]byte{ch(g[0] >> 2), ch(g[0]<<4 | g[1]>>4), ch(g[1]<<2 | g[2]>>6), ch(g[2])})
		}
		b.WriteByte('\n')
	}
	b.WriteString("`\nend\n")
	return b.String()
}

func uueZipJS() ([]byte, error) {
	when := time.Date(2021, 3, 9, 8, 14, 2, 0, time.UTC)
	z, err := zipArchive([]zipEntry{{name: "PO_4471.pdf.js", data: []byte(`WScript.Echo("` + Marker + `")` + "\r\n"), modified: when}})
	if err != nil {
		return nil, err
	}
	return email{
		header: hdr{
			date:    time.Date(2021, 3, 9, 8, 20, 41, 0, time.UTC),
			from:    [2]string{"Procurement Dept.", "procurement@tradeco-supply.example"},
			to:      [2]string{"", "sales@corp.example"},
			subject: "New Purchase Order PO_4471",
			msgID:   "20210309082041.4471.procurement@tradeco-supply.example",
		},
		charset: csASCII, cte: cte7bit,
		body: "Dear Sir,\n\n" +
			"Kindly find attached our new purchase order PO_4471 and send us your proforma invoice.\n\n" +
			"Best regards,\nProcurement Dept.\n",
		boundary: "=_uue_0031",
		files:    []file{{"PO_4471.uue", "application/octet-stream", csUTF8, toCRLF([]byte(uuencode("PO_4471.zip", z)))}},
	}.bytes()
}

func uueMention() ([]byte, error) {
	readme := "Backup job notes\r\nRuns nightly at 02:00; logs in /var/log/backup.\r\n"
	return email{
		header: hdr{
			date:    time.Date(2021, 3, 10, 10, 5, 0, 0, jst),
			from:    [2]string{"Suzuki Ichiro", "i.suzuki@corp.example"},
			to:      [2]string{"", "it-team@corp.example"},
			subject: "How the batch host mails its reports",
			msgID:   "20210310100500.uue.i.suzuki@corp.example",
			trace:   corpTrace(),
		},
		charset: csASCII, cte: cte7bit,
		body: "Hi team,\n\n" +
			"Someone asked how the old batch host mails its reports. It still uses uuencode:\n" +
			"the mail body gets a header line such as\n" +
			"begin 644 report.txt\n" +
			"followed by the encoded lines and a closing line reading end. Any mail client\n" +
			"shows that as an attachment. The mode (644, the Unix permissions) comes right\n" +
			"after the word begin. Here is the README it sends, as an example:\n\n" +
			uuencode("README.txt", []byte(readme)) +
			"\nNothing to do on our side; just so you know what those mails are.\n\n" +
			"Ichiro\n",
	}.bytes()
}

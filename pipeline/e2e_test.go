package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"triage/parsers"
)

// These tests run the whole engine on the generated inert samples in
// ../samples and assert what an analyst reads first: verdict, decoded
// subject, artifact names and types, meta and IOCs.

func sampleReport(t *testing.T, eng *Engine, dir string) *Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "samples", dir, "input.eml"))
	if err != nil {
		t.Fatalf("sample %s: %v (run `go run ./samples/gen`)", dir, err)
	}
	rep, err := eng.Triage(context.Background(), "input.eml", data)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return rep
}

func byType(rep *Report, typ string) []*Artifact {
	var out []*Artifact
	for _, a := range rep.Artifacts {
		if a.Type == typ {
			out = append(out, a)
		}
	}
	return out
}

func hasURL(rep *Report, u string) bool {
	for _, x := range rep.IOCs.URLs {
		if x == u {
			return true
		}
	}
	return false
}

func artifactFinding(a *Artifact, code string) bool {
	for _, f := range a.Findings {
		if f.Code == code {
			return true
		}
	}
	return false
}

func TestSamples_engineAcceptance(t *testing.T) {
	eng, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("iqy_iso2022jp_subject_rfc2231_name", func(t *testing.T) {
		rep := sampleReport(t, eng, "malicious/iqy-jp-photo")
		if rep.Verdict != Malicious || rep.Message.Subject != "写真添付" {
			t.Errorf("verdict %s subject %q", rep.Verdict, rep.Message.Subject)
		}
		iq := byType(rep, "iqy")
		if len(iq) != 1 || iq[0].Name != "写真.iqy" {
			t.Fatalf("iqy artifacts %+v, want one named 写真.iqy", iq)
		}
		if urls, _ := iq[0].Meta["urls"].([]string); len(urls) != 1 || urls[0] != "http://127.0.0.1:9/regress/q.html" {
			t.Errorf("iqy meta urls = %v", iq[0].Meta["urls"])
		}
		if !hasURL(rep, "http://127.0.0.1:9/regress/q.html") || len(rep.IOCs.IPs) == 0 || rep.IOCs.IPs[0] != "127.0.0.1" {
			t.Errorf("iocs = %+v", rep.IOCs)
		}
	})
	t.Run("iqy_renamed_txt", func(t *testing.T) {
		rep := sampleReport(t, eng, "malicious/iqy-renamed-txt")
		iq := byType(rep, "iqy")
		if rep.Verdict != Malicious || len(iq) != 1 || !strings.HasSuffix(iq[0].Name, ".txt") {
			t.Errorf("verdict %s, iqy artifacts %v: want the .txt detected as iqy by content", rep.Verdict, iq)
		}
	})
	t.Run("zip_password_in_body_jscript", func(t *testing.T) {
		rep := sampleReport(t, eng, "malicious/zip-password-jscript")
		z := byType(rep, "zip")
		if len(z) != 1 || z[0].Meta["encrypted"] != true || z[0].Meta["password"] != "7731" {
			t.Fatalf("zip artifacts %+v: want encrypted, opened with 7731", z)
		}
		js := byType(rep, "js")
		if len(js) != 1 || js[0].Parent != z[0].ID || !artifactFinding(js[0], "script.downloader") {
			t.Errorf("js artifacts %+v: want the downloader inside the zip", js)
		}
		if rep.Verdict != Malicious || !hasURL(rep, "http://example.invalid/regress/p.exe") {
			t.Errorf("verdict %s iocs %v", rep.Verdict, rep.IOCs.URLs)
		}
	})
	t.Run("zipped_pdf_lnk_encoded_powershell", func(t *testing.T) {
		rep := sampleReport(t, eng, "malicious/lnk-pdf-zip")
		l := byType(rep, "lnk")
		if len(l) != 1 || !strings.HasSuffix(l[0].Name, ".pdf.lnk") {
			t.Fatalf("lnk artifacts %+v", l)
		}
		for _, k := range []string{"local_base_path", "arguments", "icon_location", "show_command", "command_line"} {
			if v, _ := l[0].Meta[k].(string); v == "" {
				t.Errorf("lnk meta %s missing: %v", k, l[0].Meta)
			}
		}
		if !artifactFinding(l[0], "lnk.lolbin") {
			t.Errorf("no lnk.lolbin: %+v", l[0].Findings)
		}
		ps := byType(rep, "ps1")
		if len(ps) == 0 || !strings.Contains(ps[0].Text, "TRIAGE-REGRESSION") {
			t.Errorf("decoded PowerShell child missing or without text: %+v", ps)
		}
		if rep.Verdict != Malicious || !hasURL(rep, "http://example.invalid/regress/stage2.ps1") {
			t.Errorf("verdict %s; decoded URL not in iocs: %v", rep.Verdict, rep.IOCs.URLs)
		}
	})
	t.Run("forwarded_rfc822", func(t *testing.T) {
		rep := sampleReport(t, eng, "malicious/forwarded-iqy")
		inner := byType(rep, "eml")
		if len(inner) != 2 || inner[1].Parent == "" {
			t.Fatalf("eml artifacts %d, want the report and the forwarded message inside it", len(inner))
		}
		if s, _ := inner[1].Meta["subject"].(string); s != "写真添付" {
			t.Errorf("forwarded subject = %q", s)
		}
		if rep.Verdict != Malicious || len(byType(rep, "iqy")) != 1 {
			t.Errorf("verdict %s: the attachment of the forwarded message must be judged", rep.Verdict)
		}
	})
	t.Run("adwind_jar", func(t *testing.T) {
		rep := sampleReport(t, eng, "malicious/adwind-jar")
		j := byType(rep, "jar")
		if rep.Verdict != Malicious || len(j) != 1 || !artifactFinding(j[0], "jar.obfuscated_names") {
			t.Errorf("verdict %s jar %+v", rep.Verdict, j)
		}
	})
	t.Run("html_smuggling", func(t *testing.T) {
		rep := sampleReport(t, eng, "malicious/html-smuggling")
		h := byType(rep, "html")
		if rep.Verdict != Malicious || len(h) == 0 || !rep.HasFinding("html.smuggling") || len(byType(rep, "zip")) == 0 {
			t.Errorf("verdict %s: want smuggling finding and the smuggled zip as a child", rep.Verdict)
		}
	})
	t.Run("clean_japanese_newsletter", func(t *testing.T) {
		rep := sampleReport(t, eng, "clean/newsletter-ja")
		// The subject is ISO-2022-JP B-encoded (with a continuation word).
		if rep.Verdict != Clean || rep.Message.Subject != "【サンプル商事】メールマガジン 2020年8月号" {
			t.Errorf("verdict %s subject %q reasons %+v", rep.Verdict, rep.Message.Subject, rep.Reasons)
		}
		if len(byType(rep, "html")) == 0 || len(rep.IOCs.URLs) == 0 {
			t.Errorf("newsletter HTML part or its links missing")
		}
	})
	t.Run("clean_docx", func(t *testing.T) {
		rep := sampleReport(t, eng, "clean/docx-plain")
		if rep.Verdict != Clean || len(byType(rep, "ooxml")) != 1 {
			t.Errorf("verdict %s, ooxml %d", rep.Verdict, len(byType(rep, "ooxml")))
		}
	})
	t.Run("broken_mime", func(t *testing.T) {
		rep := sampleReport(t, eng, "suspicious/broken-mime")
		if rep.Verdict == "" || len(rep.Artifacts) < 3 || !rep.HasFinding("mime.malformed") && !rep.HasFinding("mime.bad_encoding") {
			t.Errorf("verdict %q artifacts %d findings %v", rep.Verdict, len(rep.Artifacts), findingCodes(rep))
		}
	})
	t.Run("zip_bomb_bounded", func(t *testing.T) {
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rep := sampleReport(t, eng, "suspicious/zip-bomb")
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if !rep.HasFinding("archive.limit") {
			t.Errorf("no archive.limit finding: %v", findingCodes(rep))
		}
		if rep.Stats.DecodedBytes > eng.Limits().MaxTotalBytes {
			t.Errorf("decoded %d bytes, budget %d", rep.Stats.DecodedBytes, eng.Limits().MaxTotalBytes)
		}
		if grew := int64(after.TotalAlloc - before.TotalAlloc); grew > 256*parsers.MiB {
			t.Errorf("zip bomb allocated %d MiB in total", grew/parsers.MiB)
		}
	})
}

func TestReport_Subtree_judgesTheForwardedMessage(t *testing.T) {
	eng, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	rep := sampleReport(t, eng, "malicious/forwarded-iqy")
	inner := byType(rep, "eml")[1]
	sub := rep.Subtree(inner.ID, Scoring{})
	if sub == nil || sub.Message.Subject != "写真添付" || sub.Verdict != Malicious {
		t.Fatalf("subtree %+v", sub)
	}
	for _, a := range sub.Artifacts {
		if a.ID != inner.ID && !strings.HasPrefix(a.ID, inner.ID+".") {
			t.Errorf("artifact %s outside the subtree", a.ID)
		}
	}
	for _, re := range sub.Reasons {
		if re.Artifact == "1" {
			t.Errorf("reason from the forwarding mail kept: %+v", re)
		}
	}
	if rep.Subtree("9.9", Scoring{}) != nil {
		t.Error("unknown id gave a subtree")
	}
}

package mime

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"triage/parsers"
	"triage/parsers/iocs"
	"triage/parsers/names"
)

// Signals configures the mail-level signals (codes "mail.*"). They add
// weight to a verdict; the pipeline caps them so they never make a
// malicious verdict alone.
type Signals struct {
	// LureSubjects are regular expressions matched against the decoded
	// subject; each match is a mail.lure_subject finding.
	LureSubjects []string `json:"lure_subjects"`
	// PaymentWords mark BEC-style payment requests in subject or body.
	PaymentWords []string `json:"payment_words"`
	// PrizeWords mark prize/coupon scams.
	PrizeWords []string `json:"prize_words"`
	// Brands are display-name words whose real senders use their own
	// domains (carriers, banks): a brand display name on another domain is
	// a mail.brand_impersonation finding.
	Brands map[string][]string `json:"brands"`
	// JapaneseTenants are recipient domain suffixes of a Japanese-speaking
	// tenant: a subject or attachment name there in German, Polish, French
	// or Italian business words is a mail.language_mismatch (§3).
	JapaneseTenants []string `json:"japanese_tenants"`
	// Disabled lists signal codes to skip.
	Disabled []string `json:"disabled"`
}

// DefaultSignals returns the catalogue's lure lists.
func DefaultSignals() Signals {
	return Signals{
		LureSubjects: []string{
			`支払い`, `写真送付`, `写真添付`, `ご確認ください`, `お世話になります`, `請求書`, `注文書`, `見積依頼`, `振込`, `送金`,
			`(?i)^(emailed invoice - \d+|new doc \d{4}-\d\d-\d\d - page \d+|message from \d+|status of invoice)`,
			`(?i)\b(invoice|payment|rechnung|faktura|facture|purchase order|PO#|RFQ|remittance|payment advice|swift)\b`,
			`(?i)\b(photo|pictures?|images?|scans?)\b.*\?`,
			// Check Point's "World_Cup_2018_Schedule_and_Scoresheet_…" (§10):
			// underscores count as separators.
			`(?i)(^|[^a-z0-9])(world[ _-]?cup|fifa)([^a-z]|$)`,
			`(?i)(corona|covid)`,
		},
		PaymentWords:    []string{`振込`, `送金`, `至急`, `口座変更`, `(?i)\bwire transfer\b`, `(?i)\burgent\b.*\b(transfer|payment)\b`, `(?i)\bbank (account|details) (change|update)`},
		JapaneseTenants: []string{".jp"},
		PrizeWords:      []string{`当選`, `プレゼント`, `クーポン`, `おめでとうございます`, `からあげ`, `(?i)\bcongratulations\b`, `(?i)\byou (have )?won\b`, `(?i)\bprize\b`},
		Brands: map[string][]string{
			"docomo":   {"docomo.ne.jp", "nttdocomo.co.jp"},
			"ドコモ":      {"docomo.ne.jp", "nttdocomo.co.jp"},
			"au ":      {"au.com", "kddi.com", "ezweb.ne.jp"},
			"au お客さま":  {"au.com", "kddi.com", "ezweb.ne.jp"},
			"softbank": {"softbank.jp", "softbank.ne.jp", "softbank.co.jp"},
			"ソフトバンク":   {"softbank.jp", "softbank.ne.jp", "softbank.co.jp"},
			"hsbc":     {"hsbc.com", "hsbc.co.uk", "hsbc.co.jp"},
			"paypal":   {"paypal.com"},
			"amazon":   {"amazon.com", "amazon.co.jp"},
		},
	}
}

// matcher is a signal pattern: a plain word is found with a substring
// search of the lowercased text, anything else with its expression.
type matcher struct {
	lit string
	re  *regexp.Regexp
	// need lists what any match of re holds, lowercased: one word of
	// each list. Texts lacking one are not run through re.
	need [][]string
	// breakers are runes that re's case folding matches to a letter of
	// need but that strings.ToLower does not lower to it (ſ for s): need
	// is not checked in a text holding one.
	breakers []string
}

func (m matcher) find(text, lower string) string {
	if m.re == nil {
		if strings.Contains(lower, m.lit) {
			return m.lit
		}
		return ""
	}
	if !m.mayMatch(text, lower) {
		return ""
	}
	return m.re.FindString(text)
}

// mayMatch reports whether lower (text lowercased) holds a word of each
// of m.need; false means re cannot match text.
func (m matcher) mayMatch(text, lower string) bool {
	for _, r := range m.breakers {
		// A byte search: the rune's lead byte is rarer than its last.
		if strings.Contains(text, r) {
			return true
		}
	}
	for _, any := range m.need {
		found := false
		for _, w := range any {
			if strings.Contains(lower, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// firstMatch returns the first pattern's match in text, or "".
func firstMatch(ms []matcher, text string) string {
	lower := strings.ToLower(text)
	for _, m := range ms {
		if f := m.find(text, lower); f != "" {
			return f
		}
	}
	return ""
}

// newRegexpMatcher compiles p with the words its matches must hold.
func newRegexpMatcher(p string) (matcher, error) {
	re, err := regexp.Compile(p)
	if err != nil {
		return matcher{}, err
	}
	m := matcher{re: re}
	if tree, err := syntax.Parse(p, syntax.Perl); err == nil {
		m.need = requiredWords(tree)
		for _, any := range m.need {
			for _, w := range any {
				for _, c := range w {
					// Every rune that folds to c must lower to c.
					for r := unicode.SimpleFold(c); r != c; r = unicode.SimpleFold(r) {
						if unicode.ToLower(r) != c && !slices.Contains(m.breakers, string(r)) {
							m.breakers = append(m.breakers, string(r))
						}
					}
				}
			}
		}
	}
	return m, nil
}

// requiredWords returns lists of lowercase ASCII words such that every
// match of re holds one word of each list (no list: nothing is known).
func requiredWords(re *syntax.Regexp) [][]string {
	switch re.Op {
	case syntax.OpLiteral:
		// The longest ASCII run: non-ASCII runes may fold or lower to
		// other lengths, ASCII letters only to each other (checked with
		// the breakers).
		best := ""
		run := []byte{}
		for _, r := range append(re.Rune, utf8.RuneError) {
			if r < utf8.RuneSelf {
				run = append(run, byte(unicode.ToLower(r)))
				continue
			}
			if len(run) > len(best) {
				best = string(run)
			}
			run = run[:0]
		}
		if best == "" {
			return nil
		}
		return [][]string{{best}}
	case syntax.OpCapture, syntax.OpPlus:
		return requiredWords(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredWords(re.Sub[0])
		}
	case syntax.OpConcat:
		var all [][]string
		for _, sub := range re.Sub {
			all = append(all, requiredWords(sub)...)
		}
		return all
	case syntax.OpAlternate:
		// One word of the best list of each alternative.
		var any []string
		for _, sub := range re.Sub {
			lists := requiredWords(sub)
			if len(lists) == 0 {
				return nil
			}
			best := lists[0]
			for _, l := range lists[1:] {
				if shortestWord(l) > shortestWord(best) {
					best = l
				}
			}
			any = append(any, best...)
		}
		return [][]string{any}
	}
	return nil
}

func shortestWord(ws []string) int {
	n := -1
	for _, w := range ws {
		if n < 0 || len(w) < n {
			n = len(w)
		}
	}
	return n
}

type compiledSignals struct {
	lure, payment, prize []matcher
	jaTenants            []string
	// brands in a fixed order, longest first: "au お客さま" is named
	// rather than "au " when both match.
	brands   []string
	domains  map[string][]string
	disabled map[string]bool
}

func compileSignals(s Signals) (*compiledSignals, error) {
	c := &compiledSignals{domains: s.Brands, jaTenants: s.JapaneseTenants, disabled: map[string]bool{}}
	for b := range s.Brands {
		c.brands = append(c.brands, b)
	}
	slices.SortFunc(c.brands, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	for _, d := range s.Disabled {
		c.disabled[d] = true
	}
	for _, set := range []struct {
		src []string
		dst *[]matcher
	}{{s.LureSubjects, &c.lure}, {s.PaymentWords, &c.payment}, {s.PrizeWords, &c.prize}} {
		for _, p := range set.src {
			if regexp.QuoteMeta(p) == p {
				*set.dst = append(*set.dst, matcher{lit: strings.ToLower(p)})
				continue
			}
			m, err := newRegexpMatcher(p)
			if err != nil {
				return nil, fmt.Errorf("mime: signal pattern %q: %w", p, err)
			}
			*set.dst = append(*set.dst, m)
		}
	}
	return c, nil
}

var (
	replyPrefixRE = regexp.MustCompile(`(?i)^\s*(re|aw|sv|vs|wg|fw|fwd|tr|antw|r)\s*(\[\d+\])?\s*[:：]`)
	authFailRE    = regexp.MustCompile(`(?i)\b(spf|dkim|dmarc)\s*=\s*(fail|softfail|permerror)`)
)

// signals evaluates the mail-level signals of the top-level header.
func (w *walker) signals(h message.Header, attachments int) {
	cs := w.sig
	if cs == nil {
		return
	}
	add := func(code string, sev parsers.Severity, detail string, attack ...string) {
		if cs.disabled[code] {
			return
		}
		w.out.Finding(parsers.Finding{Code: code, Severity: sev, Detail: detail, Attack: attack, Campaign: signalCampaign[code]})
	}
	mh := mail.Header{Header: h}
	var fromName, fromAddr string
	if l, err := mh.AddressList("From"); err == nil && len(l) > 0 {
		fromName, fromAddr = l[0].Name, strings.ToLower(l[0].Address)
	}
	fromDom := domainOf(fromAddr)
	if l, err := mh.AddressList("Reply-To"); err == nil && len(l) > 0 && fromDom != "" {
		if rd := domainOf(strings.ToLower(l[0].Address)); rd != "" && rd != fromDom {
			add("mail.reply_to_mismatch", parsers.Low, fmt.Sprintf("Reply-To domain %s differs from From domain %s", rd, fromDom), "T1566")
		}
	}
	if fromName != "" && fromDom != "" {
		if m := emailInName.FindString(fromName); m != "" {
			if d := domainOf(strings.ToLower(m)); d != "" && d != fromDom {
				add("mail.display_name_spoof", parsers.Low, fmt.Sprintf("display name shows %s but the address is @%s", m, fromDom), "T1656")
			}
		}
		lname := strings.ToLower(fromName) + " "
		for _, brand := range cs.brands {
			doms := cs.domains[brand]
			if !strings.Contains(lname, brand) {
				continue
			}
			own := false
			for _, d := range doms {
				if fromDom == d || strings.HasSuffix(fromDom, "."+d) {
					own = true
				}
			}
			if !own {
				add("mail.brand_impersonation", parsers.Medium, fmt.Sprintf("display name %q names %s but the sender domain is %s", fromName, strings.TrimSpace(brand), fromDom), "T1656")
				break
			}
		}
	}
	subj := w.subject
	if replyPrefixRE.MatchString(subj) && h.Get("In-Reply-To") == "" && h.Get("References") == "" {
		add("mail.reply_without_thread", parsers.Low, fmt.Sprintf("subject %q looks like a reply or forward but the message has no In-Reply-To or References", clip(subj, 120)), "T1566.001")
	}
	if m := firstMatch(cs.lure, subj); m != "" {
		add("mail.lure_subject", parsers.Low, fmt.Sprintf("subject contains lure wording %q", m), "T1566")
	}
	// Lures sit at the top of a message; the signals' regular
	// expressions need not read a long body to its end.
	body := joinPrefix(w.texts, "\n", 4*1024)
	text := subj + "\n" + body
	if attachments == 0 {
		if m := firstMatch(cs.payment, text); m != "" {
			add("mail.payment_request", parsers.Low, fmt.Sprintf("payment request wording %q in a message without attachments (BEC)", m), "T1656")
		}
	}
	if m := firstMatch(cs.prize, text); m != "" {
		add("mail.prize_lure", parsers.Low, fmt.Sprintf("prize wording %q", m), "T1566.002")
	}
	if w.toJapaneseTenant(mh, cs.jaTenants) {
		for _, t := range append([]string{subj}, w.attachNames...) {
			if m := foreignWordsRE.FindString(t); m != "" && !japaneseRE.MatchString(t) {
				add("mail.language_mismatch", parsers.Low, fmt.Sprintf("%q (%s business wording) sent to a Japanese tenant", clip(t, 120), m), "T1566.001")
				break
			}
		}
	}
	for _, ar := range h.Values("Authentication-Results") {
		if m := authFailRE.FindString(ar); m != "" {
			add("mail.auth_fail", parsers.Low, fmt.Sprintf("Authentication-Results: %s", m), "T1566")
			break
		}
	}
	for _, u := range iocs.URLs(body) {
		if m := payloadLinkRE.FindStringSubmatch(u); m != nil {
			add("mail.payload_link", parsers.Medium, fmt.Sprintf("body links a .%s file: %s", strings.ToLower(m[1]), clip(u, 200)), "T1566.002", "T1204.001")
			break
		}
	}
	if attachments > 0 && visibleLen(body) < 5 {
		add("mail.empty_body_attachment", parsers.Low, fmt.Sprintf("body of %d visible characters with an attachment", visibleLen(body)), "T1566.001")
	}
	for _, n := range w.attachNames {
		if outer, inner, ok := names.DoubleExtension(n); ok {
			add("mime.double_extension", parsers.High, fmt.Sprintf("attachment %q poses as .%s but is .%s", n, outer, inner), "T1036.007")
		}
	}
}

// payloadLinkRE matches URLs whose path ends in a file type malspam links
// to: macro documents, archives, scripts and executables.
var payloadLinkRE = regexp.MustCompile(`(?i)^[a-z]+://[^/?#]+/[^?#]*\.(docm?|xlsm?|xls|dotm|zip|7z|rar|iso|img|jar|exe|scr|js|jse|vbs|vbe|wsf|hta|ps1|lnk|iqy)(?:[?#].*)?$`)

// signalCampaign ties each mail signal to the catalogue campaign it was
// written for (CAMPAIGNS.md); the signals still fire on any mail.
var signalCampaign = map[string]string{
	"mail.prize_lure":            "karaage",
	"mail.brand_impersonation":   "karaage",
	"mail.payment_request":       "bec",
	"mail.reply_to_mismatch":     "bec",
	"mail.reply_without_thread":  "emotet",
	"mail.payload_link":          "pylocky",
	"mail.empty_body_attachment": "avaddon",
	"mail.language_mismatch":     "emotet",
}

var (
	foreignWordsRE = regexp.MustCompile(`(?i)\b(rechnung|mahnung|zahlung|zahlungserinnerung|faktura|fakturę|płatność|zapłata|facture|paiement|fattura|pagamento|factura)\b`)
	japaneseRE     = regexp.MustCompile(`[\p{Hiragana}\p{Katakana}\p{Han}]`)
)

// toJapaneseTenant reports whether any To/Cc recipient's domain ends in
// one of the tenant suffixes.
func (w *walker) toJapaneseTenant(mh mail.Header, suffixes []string) bool {
	for _, field := range []string{"To", "Cc"} {
		l, err := mh.AddressList(field)
		if err != nil {
			continue
		}
		for _, a := range l {
			d := domainOf(strings.ToLower(a.Address))
			for _, s := range suffixes {
				if d != "" && (strings.HasSuffix(d, s) || d == strings.TrimPrefix(s, ".")) {
					return true
				}
			}
		}
	}
	return false
}

var emailInName = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.Trim(addr[i+1:], "> ")
}

// joinPrefix is strings.Join(texts, sep) cut to its first n bytes, built
// without joining what is cut.
func joinPrefix(texts []string, sep string, n int) string {
	var b strings.Builder
	for i, t := range texts {
		if i > 0 {
			b.WriteString(sep[:min(len(sep), n-b.Len())])
		}
		b.WriteString(t[:min(len(t), n-b.Len())])
		if b.Len() >= n {
			break
		}
	}
	return b.String()
}

func visibleLen(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

package rtf

import (
	"fmt"
	"strings"

	"triage/parsers"
)

// Tokenizer bounds.
const (
	// maxDests bounds the destination stack. Destinations opened deeper are
	// not tracked: their text is dropped until their group closes.
	maxDests = 1024
	// maxWordName is the longest control word name kept (Word accepts up to
	// about 250 letters; RTF says 32).
	maxWordName = 250
	// maxObjects bounds the objects decoded; more are counted only.
	maxObjects = 100
	// maxClassText bounds an \objclass text.
	maxClassText = 256
	// checkEvery is how many tokens pass between deadline checks.
	checkEvery = 1 << 16
)

// destKind is what a destination's text is kept for.
type destKind int

const (
	destOther destKind = iota
	destObjdata
	destObjclass
)

// dest is an open destination: the text of the groups it spans (and of
// nested groups without a destination of their own) belongs to it.
type dest struct {
	kind  destKind
	level int
	obj   *object
	class []byte
}

// object is one \objdata destination: its hex decoded as Word does.
type object struct {
	start    int // offset of the \objdata control word
	data     []byte
	half     byte
	hasHalf  bool
	limit    int
	cut      bool   // data beyond the limit was dropped
	class    string // the \objclass declared before it
	words    int    // control words inside the hex
	symbols  int    // \'hh symbols inside the hex
	bins     int    // \bin runs inside the hex
	groups   int    // nested groups without a destination inside the hex
	nonHex   int    // other non-hex, non-space characters
	nibbles  int64  // hex digits seen, kept or not
	discards int    // odd digits dropped before \'hh (Word's bug)
}

func (o *object) nibble(v byte) {
	o.nibbles++
	if !o.hasHalf {
		o.half, o.hasHalf = v, true
		return
	}
	o.hasHalf = false
	if len(o.data) >= o.limit {
		o.cut = true
		return
	}
	o.data = append(o.data, o.half<<4|v)
}

func (o *object) raw(b []byte) {
	for _, c := range b {
		o.nibble(c >> 4)
		o.nibble(c & 0xf)
	}
}

// hexVal maps a byte to its hex digit value, or 0xff.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// destinations are the RTF destination control words (RTF 1.9.1, as
// rtfobj lists them): each opens a new destination.
var destinations = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`aftncn aftnsep aftnsepc annotation atnauthor atndate atnid atnparent atnref
	atrfend atrfstart author background bkmkend bkmkstart blipuid buptim category colorschememapping colortbl
	comment company creatim datafield datastore defchp defpap do doccomm docvar dptxbxtext ebcend ebcstart
	factoidname falt fchars ffdeftext ffentrymcr ffexitmcr ffformat ffhelptext ffl ffname ffstattext field file
	filetbl fldinst fldrslt fldtype fontemb fonttbl footer footerf footerl footerr footnote formfield ftncn
	ftnsep ftnsepc g generator gridtbl header headerf headerl headerr hl hlfr hlinkbase hlloc hlsrc hsv info
	keywords latentstyles lchars levelnumbers leveltext lfolevel linkval list listlevel listname listoverride
	listoverridetable listpicture liststylename listtable listtext lsdlockedexcept macc maccPr mailmerge
	malnScr manager margPr mbar mbarPr mbaseJc mbegChr mborderBox mborderBoxPr mbox mboxPr mchr mcount mctrlPr
	md mdeg mdegHide mden mdiff mdPr me mendChr meqArr meqArrPr mf mfName mfPr mfunc mfuncPr mgroupChr
	mgroupChrPr mgrow mhideBot mhideLeft mhideRight mhideTop mlim mlimLoc mlimLow mlimLowPr mlimUpp mlimUppPr
	mm mmaddfieldname mmathPict mmaxDist mmc mmcJc mmconnectstr mmconnectstrdata mmcPr mmcs mmdatasource
	mmheadersource mmmailsubject mmodso mmodsofilter mmodsofldmpdata mmodsomappedname mmodsoname
	mmodsorecipdata mmodsosort mmodsosrc mmodsotable mmodsoudl mmodsoudldata mmodsouniquetag mmPr mmquery mmr
	mnary mnaryPr mnoBreak mnum mobjDist moMath moMathPara moMathParaPr mopEmu mphant mphantPr mplcHide mpos
	mr mrad mradPr mrPr msepChr mshow mshp msPre msPrePr msSub msSubPr msSubSup msSubSupPr msSup msSupPr
	mstrikeBLTR mstrikeH mstrikeTLBR mstrikeV msub msubHide msup msupHide mtransp mtype mvertJc mvfmf mvfml
	mvtof mvtol mzeroAsc mzeroDesc mzeroWid nesttableprops nonesttables objalias objclass objdata object
	objname objsect oldcprops oldpprops oldsprops oldtprops oleclsid operator panose password passwordhash pgp
	pgptbl picprop pict pn pnseclvl pntext pntxta pntxtb printim propname protend protstart protusertbl result
	revtbl revtim rxe shp shpgrp shpinst shppict shprslt shptxt sn sp staticval stylesheet subject sv svb tc
	template themedata title txe ud upr userprops wgrffmtfilter windowcaption writereservation writereservhash
	xe xform xmlattrname xmlattrvalue xmlclose xmlname xmlnstbl xmlopen margSz pnaiu pnaiud`) {
		m[w] = true
	}
	return m
}()

// tokenizer walks RTF the way rtfobj's RtfParser does (which follows
// Word's tolerance): groups, destinations, control words, \bin and text.
type tokenizer struct {
	data   []byte
	b      *parsers.Budget
	depth  int
	dests  []dest
	over   int // group level where untracked destinations began; 0 = none
	tokens int

	maxTokens   int
	objects     []*object
	objectCount int
	classes     []string
	lastClass   string
	maxDepth    int
	unbalanced  int  // '}' with no open group
	openAtEnd   int  // groups still open at the end of the data
	star        bool // the previous token was \*
	overflowed  bool
	tooMany     bool
	tokenCut    bool
	err         error
}

func newTokenizer(data []byte, b *parsers.Budget, maxTokens int) *tokenizer {
	return &tokenizer{data: data, b: b, maxTokens: maxTokens, dests: []dest{{kind: destOther}}}
}

func (t *tokenizer) top() *dest { return &t.dests[len(t.dests)-1] }

// tracking reports whether text at the current depth has a destination.
func (t *tokenizer) tracking() bool { return t.over == 0 || t.depth < t.over }

func (t *tokenizer) run() {
	data := t.data
	n := len(data)
	for i := 0; i < n; {
		if t.tokens++; t.tokens%checkEvery == 0 {
			if err := t.b.Err(); err != nil {
				t.err = err
				return
			}
		}
		if t.tokens > t.maxTokens {
			t.tokenCut = true
			t.err = fmt.Errorf("rtf: %w: more than %d tokens", parsers.ErrTooMany, t.maxTokens)
			return
		}
		star := t.star
		t.star = false
		switch c := data[i]; c {
		case '{':
			t.depth++
			if t.depth > t.maxDepth {
				t.maxDepth = t.depth
			}
			if d := t.top(); d.kind == destObjdata && d.level < t.depth && t.tracking() {
				d.obj.groups++
			}
			i++
		case '}':
			t.closeGroup()
			i++
		case '\\':
			i = t.control(i, star)
		default:
			j := i + 1
			for j < n && data[j] != '{' && data[j] != '}' && data[j] != '\\' {
				j++
			}
			t.text(data[i:j])
			i = j
		}
	}
	t.openAtEnd = t.depth
	for t.depth > 0 {
		t.closeGroup()
	}
	// The document destination never closes; objects still open are
	// finished here.
	for len(t.dests) > 1 {
		t.closeDest()
	}
}

// control reads a control word or symbol at data[i] == '\\' and returns
// the index after it.
func (t *tokenizer) control(i int, star bool) int {
	data := t.data
	n := len(data)
	if i+1 >= n {
		return n
	}
	c := data[i+1]
	if !isLetter(c) {
		if c == '\'' {
			// \'hh: two characters follow, hex or not.
			end := min(i+4, n)
			if t.tracking() {
				d := t.top()
				switch d.kind {
				case destObjdata:
					// Word drops the last hex digit read so far when their
					// count is odd (rtfobj emulates this bug).
					d.obj.symbols++
					if d.obj.hasHalf {
						d.obj.hasHalf = false
						d.obj.discards++
					}
				case destObjclass:
					if i+4 <= n {
						if hi, lo := hexVal[data[i+2]], hexVal[data[i+3]]; hi != 0xff && lo != 0xff && len(d.class) < maxClassText {
							d.class = append(d.class, hi<<4|lo)
						}
					}
				}
			}
			return end
		}
		if c == '*' {
			t.star = true
		}
		return i + 2
	}
	j := i + 1
	for j < n && isLetter(data[j]) {
		j++
	}
	name := string(data[i+1 : min(j, i+1+maxWordName)])
	k := j
	param, hasParam := 0, false
	if k < n && (isDigit(data[k]) || (data[k] == '-' && k+1 < n && isDigit(data[k+1]))) {
		neg := data[k] == '-'
		if neg {
			k++
		}
		for k < n && isDigit(data[k]) {
			if param < 1<<40 {
				param = param*10 + int(data[k]-'0')
			}
			k++
		}
		if neg {
			param = -param
		}
		hasParam = true
	}
	if k < n && data[k] == ' ' {
		k++
	}
	if j-(i+1) > maxWordName {
		// Word ignores over-long control words; so do we.
		return k
	}
	if t.tracking() && t.top().kind == destObjdata && !destinations[name] && name != "bin" {
		t.top().obj.words++
	}
	switch {
	case name == "bin":
		size := 0
		if hasParam && param > 0 {
			size = param
		}
		if size > n-k {
			size = n - k
		}
		if t.tracking() && t.top().kind == destObjdata {
			t.top().obj.bins++
			t.top().obj.raw(data[k : k+size])
		}
		return k + size
	}
	switch {
	case destinations[name]:
		t.openDest(i, name)
	case star:
		// {\*\unknown …} is an ignorable destination: Word skips the whole
		// group (rtfobj would read its text as object data).
		t.openDest(i, "*"+name)
	}
	return k
}

func (t *tokenizer) openDest(at int, name string) {
	if !t.tracking() {
		return
	}
	if t.top().level == t.depth && len(t.dests) > 1 {
		t.closeDest()
	}
	if len(t.dests) >= maxDests {
		t.over = t.depth
		t.overflowed = true
		return
	}
	d := dest{kind: destOther, level: t.depth}
	switch name {
	case "objdata":
		d.kind = destObjdata
		t.objectCount++
		limit := 0
		if len(t.objects) < maxObjects {
			limit = int(min(t.b.Limits.MaxArtifactBytes, t.b.Limits.MaxTotalBytes-t.b.Used()))
		} else {
			t.tooMany = true
		}
		d.obj = &object{start: at, limit: max(limit, 0), class: t.lastClass}
		t.lastClass = ""
		if len(t.objects) < maxObjects {
			t.objects = append(t.objects, d.obj)
		}
	case "objclass":
		d.kind = destObjclass
	}
	t.dests = append(t.dests, d)
}

func (t *tokenizer) closeDest() {
	d := t.dests[len(t.dests)-1]
	t.dests = t.dests[:len(t.dests)-1]
	switch d.kind {
	case destObjclass:
		cls := strings.TrimSpace(strings.TrimRight(string(d.class), "\x00"))
		t.lastClass = cls
		if cls != "" && len(t.classes) < maxObjects {
			t.classes = append(t.classes, cls)
		}
	case destObjdata:
		if d.obj.hasHalf {
			// Word accepts an extra hex digit and ignores it.
			d.obj.hasHalf = false
			d.obj.discards++
		}
	}
}

func (t *tokenizer) closeGroup() {
	if t.depth == 0 {
		t.unbalanced++
		return
	}
	if t.over > 0 && t.depth == t.over {
		t.over = 0
	} else if t.tracking() && len(t.dests) > 1 && t.top().level == t.depth {
		t.closeDest()
	}
	t.depth--
}

func (t *tokenizer) text(b []byte) {
	if !t.tracking() {
		return
	}
	d := t.top()
	switch d.kind {
	case destObjdata:
		o := d.obj
		for _, c := range b {
			if v := hexVal[c]; v != 0xff {
				o.nibble(v)
			} else if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\f' && c != '\v' && c != 0 {
				o.nonHex++
			}
		}
	case destObjclass:
		if room := maxClassText - len(d.class); room > 0 {
			d.class = append(d.class, b[:min(len(b), room)]...)
		}
	}
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

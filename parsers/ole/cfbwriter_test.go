package ole

import (
	"encoding/binary"
	"sort"
	"strings"
	"unicode/utf16"
)

// buildCFB writes a version-3 compound file holding streams keyed by path
// ("Macros/VBA/dir"); storages are implied by the paths. Streams under
// 4096 bytes go to the mini stream, as MS-CFB requires. Test inputs only.
func buildCFB(streams map[string][]byte) []byte {
	const ss = 512
	type node struct {
		name     string
		typ      byte // 1 storage, 2 stream, 5 root
		data     []byte
		children []*node
		id       uint32
		start    uint32
		size     uint32
	}
	root := &node{name: "Root Entry", typ: 5}
	storages := map[string]*node{"": root}
	var getStorage func(path string) *node
	getStorage = func(path string) *node {
		if n, ok := storages[path]; ok {
			return n
		}
		parent, name := "", path
		if i := strings.LastIndexByte(path, '/'); i >= 0 {
			parent, name = path[:i], path[i+1:]
		}
		n := &node{name: name, typ: 1}
		p := getStorage(parent)
		p.children = append(p.children, n)
		storages[path] = n
		return n
	}
	paths := make([]string, 0, len(streams))
	for p := range streams {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		parent, name := "", p
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			parent, name = p[:i], p[i+1:]
		}
		st := getStorage(parent)
		st.children = append(st.children, &node{name: name, typ: 2, data: streams[p]})
	}
	// Number the entries depth-first.
	var all []*node
	var number func(n *node)
	number = func(n *node) {
		n.id = uint32(len(all))
		all = append(all, n)
		for _, c := range n.children {
			number(c)
		}
	}
	number(root)

	// Mini stream and big streams.
	var mini []byte
	var miniFAT []uint32
	var big [][]byte
	for _, n := range all {
		if n.typ != 2 {
			continue
		}
		n.size = uint32(len(n.data))
		switch {
		case len(n.data) == 0:
			n.start = secEndOfChain
		case len(n.data) < miniCutoff:
			n.start = uint32(len(mini) / miniSector)
			blocks := (len(n.data) + miniSector - 1) / miniSector
			for i := 0; i < blocks; i++ {
				next := n.start + uint32(i) + 1
				if i == blocks-1 {
					next = secEndOfChain
				}
				miniFAT = append(miniFAT, next)
			}
			buf := make([]byte, blocks*miniSector)
			copy(buf, n.data)
			mini = append(mini, buf...)
		default:
			big = append(big, n.data)
		}
	}
	sectorsFor := func(n int) int { return (n + ss - 1) / ss }
	nDir := sectorsFor(len(all) * dirEntrySize)
	nMiniFAT := sectorsFor(len(miniFAT) * 4)
	nMini := sectorsFor(len(mini))
	nBig := 0
	for _, b := range big {
		nBig += sectorsFor(len(b))
	}
	nFAT := 1
	for {
		total := nFAT + nDir + nMiniFAT + nMini + nBig
		if sectorsFor(total*4) <= nFAT {
			break
		}
		nFAT++
	}
	total := nFAT + nDir + nMiniFAT + nMini + nBig
	fat := make([]uint32, nFAT*ss/4)
	for i := range fat {
		fat[i] = secFree
	}
	next := uint32(0)
	chain := func(n int) uint32 {
		if n == 0 {
			return secEndOfChain
		}
		start := next
		for i := 0; i < n; i++ {
			if i == n-1 {
				fat[next] = secEndOfChain
			} else {
				fat[next] = next + 1
			}
			next++
		}
		return start
	}
	for i := 0; i < nFAT; i++ {
		fat[next] = secFAT
		next++
	}
	dirStart := chain(nDir)
	miniFATStart := chain(nMiniFAT)
	miniStart := chain(nMini)
	root.start, root.size = miniStart, uint32(len(mini))
	if nMini == 0 {
		root.start = secEndOfChain
	}
	bigIdx := 0
	for _, n := range all {
		if n.typ == 2 && len(n.data) >= miniCutoff {
			n.start = chain(sectorsFor(len(big[bigIdx])))
			bigIdx++
		}
	}

	out := make([]byte, ss*(1+total))
	h := out[:ss]
	copy(h, Magic)
	binary.LittleEndian.PutUint16(h[0x18:], 0x3E)
	binary.LittleEndian.PutUint16(h[0x1A:], 3)
	binary.LittleEndian.PutUint16(h[0x1C:], 0xFFFE)
	binary.LittleEndian.PutUint16(h[0x1E:], 9)
	binary.LittleEndian.PutUint16(h[0x20:], 6)
	binary.LittleEndian.PutUint32(h[0x2C:], uint32(nFAT))
	binary.LittleEndian.PutUint32(h[0x30:], dirStart)
	binary.LittleEndian.PutUint32(h[0x38:], miniCutoff)
	binary.LittleEndian.PutUint32(h[0x3C:], miniFATStart)
	binary.LittleEndian.PutUint32(h[0x40:], uint32(nMiniFAT))
	binary.LittleEndian.PutUint32(h[0x44:], secEndOfChain)
	for i := 0; i < 109; i++ {
		v := uint32(secFree)
		if i < nFAT {
			v = uint32(i)
		}
		binary.LittleEndian.PutUint32(h[0x4C+4*i:], v)
	}
	sector := func(s uint32) []byte { return out[(int(s)+1)*ss : (int(s)+2)*ss] }
	for i := 0; i < nFAT; i++ {
		for j := 0; j < ss/4; j++ {
			binary.LittleEndian.PutUint32(sector(uint32(i))[4*j:], fat[i*ss/4+j])
		}
	}
	// Directory: children of a storage chained through right siblings.
	dir := make([]byte, nDir*ss)
	for i := len(all) * dirEntrySize; i < len(dir); i += dirEntrySize {
		binary.LittleEndian.PutUint32(dir[i+68:], secFree)
		binary.LittleEndian.PutUint32(dir[i+72:], secFree)
		binary.LittleEndian.PutUint32(dir[i+76:], secFree)
	}
	right := map[uint32]uint32{}
	child := map[uint32]uint32{}
	for _, n := range all {
		for i, c := range n.children {
			if i == 0 {
				child[n.id] = c.id
			} else {
				right[n.children[i-1].id] = c.id
			}
		}
	}
	for _, n := range all {
		e := dir[int(n.id)*dirEntrySize:]
		u := utf16.Encode([]rune(n.name))
		for i, c := range u {
			binary.LittleEndian.PutUint16(e[2*i:], c)
		}
		binary.LittleEndian.PutUint16(e[64:], uint16(2*len(u)+2))
		e[66], e[67] = n.typ, 1
		sib := func(m map[uint32]uint32, id uint32) uint32 {
			if v, ok := m[id]; ok {
				return v
			}
			return secFree
		}
		binary.LittleEndian.PutUint32(e[68:], secFree)
		binary.LittleEndian.PutUint32(e[72:], sib(right, n.id))
		binary.LittleEndian.PutUint32(e[76:], sib(child, n.id))
		binary.LittleEndian.PutUint32(e[116:], n.start)
		binary.LittleEndian.PutUint32(e[120:], n.size)
	}
	for i := 0; i < nDir; i++ {
		copy(sector(dirStart+uint32(i)), dir[i*ss:])
	}
	mf := make([]byte, nMiniFAT*ss)
	for i := range mf[:len(mf)/4] {
		v := uint32(secFree)
		if i < len(miniFAT) {
			v = miniFAT[i]
		}
		binary.LittleEndian.PutUint32(mf[4*i:], v)
	}
	for i := 0; i < nMiniFAT; i++ {
		copy(sector(miniFATStart+uint32(i)), mf[i*ss:])
	}
	for i := 0; i < nMini; i++ {
		copy(sector(miniStart+uint32(i)), mini[i*ss:])
	}
	bigIdx = 0
	for _, n := range all {
		if n.typ == 2 && len(n.data) >= miniCutoff {
			for i := 0; i*ss < len(n.data); i++ {
				copy(sector(n.start+uint32(i)), n.data[i*ss:])
			}
		}
	}
	return out
}

package classify

// The matcher of the phrase tables: one Aho-Corasick pass over a
// normalised text finds every phrase it contains.

import (
	"strings"
)

// phraseTable is an ordered list of phrase rules with an Aho-Corasick
// automaton over all their parts, so that one pass over a text finds every
// part it contains, however many rules there are: the work per recipient
// is linear in the text, never in the number of phrases.
type phraseTable struct {
	rules []phraseRule
	first []int32 // pattern id of each rule's first part
	m     phraseMatcher
}

// maxPhrasePatterns bounds the distinct parts of a table, so that the set
// of patterns found in a text fits a bitset on the stack.
const maxPhrasePatterns = 32 * 64

type phraseMatcher struct {
	class  [256]uint8 // byte -> input class; 0 for bytes in no pattern
	nclass int
	// next is the complete automaton: next[row+class] is the row of the
	// next state, where a state's row is its number times nclass. States
	// are numbered so that those where a pattern ends (their own or a
	// suffix's) come last, from row hits on: the scan tests one number
	// per byte and reads out and dict only where something was found.
	next []int32
	hits int32
	out  []int32 // pattern ending at a state, or -1
	dict []int32 // nearest proper suffix state with an output, or -1
}

func newPhraseTable(rules []phraseRule) phraseTable {
	t := phraseTable{rules: rules, first: make([]int32, len(rules))}
	ids := map[string]int32{}
	var pats []string
	for i, r := range rules {
		for j, p := range r.parts {
			id, ok := ids[p]
			if !ok {
				id = int32(len(pats))
				ids[p] = id
				pats = append(pats, p)
			}
			if j == 0 {
				t.first[i] = id
			}
		}
	}
	if len(pats) > maxPhrasePatterns {
		panic("classify: too many reason phrases for the matcher")
	}
	t.m = newPhraseMatcher(pats)
	return t
}

func newPhraseMatcher(pats []string) phraseMatcher {
	var m phraseMatcher
	m.nclass = 1
	for _, p := range pats {
		for i := 0; i < len(p); i++ {
			if m.class[p[i]] == 0 {
				m.class[p[i]] = uint8(m.nclass)
				m.nclass++
			}
		}
	}
	// The trie, with -1 for a missing edge. It has at most one state a
	// pattern byte, and the root: allocated once, not grown.
	states := 1
	for _, p := range pats {
		states += len(p)
	}
	m.next = make([]int32, 0, states*m.nclass)
	m.out = make([]int32, 0, states)
	m.dict = make([]int32, 0, states)
	newState := func() int32 {
		for c := 0; c < m.nclass; c++ {
			m.next = append(m.next, -1)
		}
		m.out = append(m.out, -1)
		m.dict = append(m.dict, -1)
		return int32(len(m.out) - 1)
	}
	newState()
	for id, p := range pats {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			e := int(s)*m.nclass + int(m.class[p[i]])
			if m.next[e] < 0 {
				n := newState()
				m.next[e] = n
			}
			s = m.next[e]
		}
		m.out[s] = int32(id)
	}
	// Breadth first: failure links, then complete every missing edge.
	fail := make([]int32, len(m.out))
	queue := make([]int32, 0, len(m.out))
	for c := 0; c < m.nclass; c++ {
		if n := m.next[c]; n > 0 {
			fail[n] = 0
			queue = append(queue, n)
		} else {
			m.next[c] = 0
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		f := fail[s]
		if m.out[f] >= 0 {
			m.dict[s] = f
		} else {
			m.dict[s] = m.dict[f]
		}
		for c := 0; c < m.nclass; c++ {
			e := int(s)*m.nclass + c
			if n := m.next[e]; n >= 0 {
				fail[n] = m.next[int(f)*m.nclass+c]
				queue = append(queue, n)
			} else {
				m.next[e] = m.next[int(f)*m.nclass+c]
			}
		}
	}
	return m.renumber()
}

// renumber puts the states where some pattern ends last and turns the
// transitions into rows (see phraseMatcher.next).
func (m phraseMatcher) renumber() phraseMatcher {
	n := len(m.out)
	order := make([]int32, 0, n) // new number -> old
	for pass := 0; pass < 2; pass++ {
		for s := 0; s < n; s++ {
			if hit := m.out[s] >= 0 || m.dict[s] >= 0; hit == (pass == 1) {
				order = append(order, int32(s))
			}
		}
	}
	num := make([]int32, n) // old -> new
	hits := int32(n)
	for i, s := range order {
		num[s] = int32(i)
		if hits == int32(n) && (m.out[s] >= 0 || m.dict[s] >= 0) {
			hits = int32(i)
		}
	}
	r := phraseMatcher{class: m.class, nclass: m.nclass, hits: hits * int32(m.nclass),
		next: make([]int32, len(m.next)), out: make([]int32, n), dict: make([]int32, n)}
	for i, s := range order {
		for c := 0; c < m.nclass; c++ {
			r.next[i*m.nclass+c] = num[m.next[int(s)*m.nclass+c]] * int32(m.nclass)
		}
		r.out[i] = m.out[s]
		r.dict[i] = -1
		if d := m.dict[s]; d >= 0 {
			r.dict[i] = num[d]
		}
	}
	return r
}

// scan marks in found every pattern that occurs in text.
func (m *phraseMatcher) scan(text string, found *[maxPhrasePatterns / 64]uint64) {
	next, class, hits := m.next, &m.class, m.hits
	row := int32(0)
	for i := 0; i < len(text); i++ {
		row = next[int(row)+int(class[text[i]])]
		if row < hits {
			continue
		}
		o := row / int32(m.nclass)
		if m.out[o] < 0 {
			o = m.dict[o]
		}
		for o >= 0 {
			id := m.out[o]
			found[id/64] |= 1 << (id % 64)
			o = m.dict[o]
		}
	}
}

// matchPhrases returns the first rule of t whose parts all occur, in
// order, in text, or nil.
func matchPhrases(text, cmd string, t *phraseTable) *phraseRule {
	if text == "" {
		return nil
	}
	var found [maxPhrasePatterns / 64]uint64
	t.m.scan(text, &found)
	for i := range t.rules {
		id := t.first[i]
		if found[id/64]&(1<<(id%64)) == 0 {
			continue
		}
		r := &t.rules[i]
		if cmd != "" && r.notAt != "" && strings.Contains(r.notAt, cmd) {
			continue
		}
		if len(r.parts) > 1 && !inOrder(text, r.parts) {
			continue
		}
		return r
	}
	return nil
}

// inOrder reports whether parts occur in text one after the other. Each
// part is searched from where the previous one ended: one pass over text.
func inOrder(text string, parts []string) bool {
	for _, p := range parts {
		j := strings.Index(text, p)
		if j < 0 {
			return false
		}
		text = text[j+len(p):]
	}
	return true
}

// normalizeReasonText lower-cases text, folds every run of white space into
// one space and drops the "550-5.1.1" prefixes of multi-line SMTP replies,
// which would split phrases.
func normalizeReasonText(s string) string {
	if len(s) > maxReasonText {
		s = s[:maxReasonText]
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		for i < len(s) && spaceLen(s, i) > 0 {
			i += spaceLen(s, i)
		}
		j := i
		for j < len(s) && spaceLen(s, j) == 0 {
			j++
		}
		w := s[i:j]
		i = j
		if w == "" || isReplyContinuation(w) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		for k := 0; k < len(w); k++ {
			c := w[k]
			if c >= 0x80 {
				// Rare: lower-case the rest of the word rune by rune.
				for _, r := range w[k:] {
					b.WriteRune(lowerRune(r))
				}
				break
			}
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// spaceLen returns the length of the white space at s[i]: ASCII space or
// the no-break space (U+00A0) that HTML-made bounces are full of.
func spaceLen(s string, i int) int {
	switch s[i] {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return 1
	case 0xc2:
		if i+1 < len(s) && s[i+1] == 0xa0 {
			return 2
		}
	}
	return 0
}

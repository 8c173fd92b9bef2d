package classify

// The matcher of the phrase tables: one Aho-Corasick pass over a
// normalised text finds every phrase it contains.

import (
	"strings"
	"unicode"
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
	next   []int32 // state*nclass+class -> state, a complete automaton
	out    []int32 // pattern ending at a state, or -1
	dict   []int32 // nearest proper suffix state with an output, or -1
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
	// The trie, with -1 for a missing edge.
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
	return m
}

// scan marks in found every pattern that occurs in text.
func (m *phraseMatcher) scan(text string, found *[maxPhrasePatterns / 64]uint64) {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = m.next[int(s)*m.nclass+int(m.class[text[i]])]
		o := s
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
					b.WriteRune(unicode.ToLower(r))
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

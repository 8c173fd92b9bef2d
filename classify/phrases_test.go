package classify

import (
	"strings"
	"testing"
)

// TestPhrases checks the phrase tables against themselves: no phrase is
// listed twice (a second copy can never fire), and each phrase on its own
// yields its own reason (an earlier phrase that it contains would win
// instead, so it is filed under a reason it can never produce). A vague
// phrase must not be one that the specific table takes first.
func TestPhrases(t *testing.T) {
	tables := []struct {
		name  string
		table *phraseTable
	}{{"reasonPhrases", &reasonPhrases}, {"reasonVague", &reasonVague}}
	for _, tt := range tables {
		seen := map[string]Reason{}
		for i := range tt.table.rules {
			r := &tt.table.rules[i]
			phrase := strings.Join(r.parts, "*")
			if prev, ok := seen[phrase]; ok {
				t.Errorf("%s: %q (%s) listed twice (first under %s)", tt.name, phrase, r.reason, prev)
				continue
			}
			seen[phrase] = r.reason
			text := strings.Join(r.parts, " ")
			if got := matchPhrases(text, "", tt.table); got == nil || got.reason != r.reason {
				t.Errorf("%s: %q (%s) on its own yields %s (by %q)", tt.name, phrase, r.reason, reasonOf(got), partsOf(got))
			}
			if tt.table == &reasonVague {
				// reasonFor asks reasonVague only when no specific phrase
				// matched: one that does (at every command) decides first.
				if got := matchPhrases(text, "", &reasonPhrases); got != nil && got.notAt == "" {
					t.Errorf("%s: %q (%s) never decides: reasonPhrases takes it first (%q, %s)", tt.name, phrase, r.reason, partsOf(got), got.reason)
				}
			}
		}
	}
}

// TestPlainUnknown checks that every plain phrase is a userunknown phrase
// that yields its reason on its own.
func TestPlainUnknown(t *testing.T) {
	for _, p := range plainUnknown {
		if got := matchPhrases(p, "", &reasonPhrases); got == nil || got.reason != ReasonUserUnknown {
			t.Errorf("plainUnknown: %q yields %s in reasonPhrases (by %q), want userunknown", p, reasonOf(got), partsOf(got))
		}
	}
}

func reasonOf(r *phraseRule) Reason {
	if r == nil {
		return "nothing"
	}
	return r.reason
}

func partsOf(r *phraseRule) string {
	if r == nil {
		return ""
	}
	return strings.Join(r.parts, "*")
}

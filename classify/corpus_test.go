package classify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// ratchet holds the lowest accepted corpus figures, in percent, measured
// the way ../shared/corpus/score measures them. Raise them when the
// classifier improves; a drop fails TestCorpusRatchet.
var ratchet = map[string]float64{
	"detected":       99.9,
	"recipient":      99.2,
	"status":         97.6,
	"reply code":     99.5,
	"reason":         95.2,
	"hard/soft":      98.1,
	"autoreply kind": 100,
	"complaint kind": 100,
	"feedback type":  100,
}

// maxFalseBounces is the accepted number of corpus mails labelled "not a
// bounce" that are reported as one. The one accepted is
// not/rb-issue-368-bug.eml: it is labelled so because the reference parser
// did not recognise it, but it is a real notice from postmaster ("reject
// reason: Mailbox full", "target mail address: ...") and bounced reads it
// as the mailbox-full bounce it is.
const maxFalseBounces = 1

// expectedRow is one line of the corpus's expected.jsonl.
type expectedRow struct {
	File         string `json:"file"`
	Msg          int    `json:"msg"`
	Recipient    string `json:"recipient"`
	Status       string `json:"status"`
	ReplyCode    string `json:"replycode"`
	Reason       string `json:"reason"`
	HardBounce   *bool  `json:"hardbounce"`
	FeedbackType string `json:"feedbacktype"`
	NotBounce    bool   `json:"notbounce"`
}

type msgKey struct {
	file string
	msg  int
}

// corpusRoot is the shared corpus, or "" when absent.
func corpusRoot() string {
	root := filepath.Join("..", "..", "shared", "corpus", "sisimai")
	if _, err := os.Stat(filepath.Join(root, "expected.jsonl")); err != nil {
		return ""
	}
	return root
}

func readExpected(t testing.TB, root string) []expectedRow {
	data, err := os.ReadFile(filepath.Join(root, "expected.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []expectedRow
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		r := expectedRow{Msg: 1}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("expected.jsonl: %v", err)
		}
		if r.Msg == 0 {
			r.Msg = 1
		}
		rows = append(rows, r)
	}
	return rows
}

// classifyCorpus classifies every file named in rows as `bounced classify`
// does: an mbox is split, and outside mailbox/ every result counts as the
// file's one message.
func classifyCorpus(t testing.TB, root string, rows []expectedRow) map[msgKey][]Verdict {
	files := map[string]bool{}
	for _, r := range rows {
		files[r.File] = true
	}
	got := map[msgKey][]Verdict{}
	for f := range files {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		msgs := [][]byte{data}
		if IsMbox(data) {
			msgs = SplitMbox(data)
		}
		for i, m := range msgs {
			v, err := Message(m)
			if err != nil {
				continue
			}
			idx := 1
			if strings.HasPrefix(f, "mailbox/") {
				idx = i + 1
			}
			got[msgKey{f, idx}] = append(got[msgKey{f, idx}], v)
		}
	}
	return got
}

var scoreRename = map[string]string{"speeding": "ratelimited", "toomanyconn": "ratelimited",
	"mesgtoobig": "emailtoolarge", "exceedlimit": "emailtoolarge"}

// scoreCorpus ports the matching rules of ../shared/corpus/score: it
// returns [ok, total] per metric and the misses per metric.
func scoreCorpus(rows []expectedRow, got map[msgKey][]Verdict) (map[string][2]int, map[string][]string) {
	tally := map[string][2]int{}
	misses := map[string][]string{}
	count := func(metric string, ok bool, where string) {
		c := tally[metric]
		c[1]++
		if ok {
			c[0]++
		} else {
			misses[metric] = append(misses[metric], where)
		}
		tally[metric] = c
	}
	byMsg := map[msgKey][]expectedRow{}
	var keys []msgKey
	for _, r := range rows {
		k := msgKey{r.File, r.Msg}
		if _, ok := byMsg[k]; !ok {
			keys = append(keys, k)
		}
		byMsg[k] = append(byMsg[k], r)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].file != keys[j].file {
			return keys[i].file < keys[j].file
		}
		return keys[i].msg < keys[j].msg
	})
	for _, k := range keys {
		es := byMsg[k]
		vs := got[k]
		var rs []Recipient
		kinds := map[Kind]bool{}
		for _, v := range vs {
			rs = append(rs, v.Recipients...)
			kinds[v.Kind] = true
		}
		where := k.file + "#" + strconv.Itoa(k.msg)
		if es[0].NotBounce {
			failed := false
			for _, r := range rs {
				if r.Action == ActionFailed || r.Action == ActionDelayed {
					failed = true
				}
			}
			count("not-bounce kept clean", !failed && !kinds[KindBounce], where)
			continue
		}
		bouncy := false
		for _, e := range es {
			switch e.Reason {
			case "delivered", "vacation", "feedback":
			default:
				bouncy = true
			}
		}
		if bouncy {
			count("detected", len(rs) > 0, where)
		}
		used := map[int]bool{}
		for pos, e := range es {
			want := e.Reason
			if n, ok := scoreRename[want]; ok {
				want = n
			}
			switch want {
			case "vacation":
				count("autoreply kind", kinds[KindAutoreply], where)
				continue
			case "feedback":
				count("complaint kind", kinds[KindComplaint] || kinds[KindReport], where)
				ok := false
				anyFT := false
				for _, v := range vs {
					if v.FeedbackType != "" {
						anyFT = true
					}
					if e.FeedbackType != "" && v.FeedbackType == e.FeedbackType {
						ok = true
					}
				}
				if e.FeedbackType == "" {
					ok = !anyFT
				}
				count("feedback type", ok, where)
				continue
			}
			match := -1
			if e.Recipient != "" {
				want := normAddrScore(e.Recipient)
				for i, r := range rs {
					if normAddrScore(r.Address) == want {
						match = i
						break
					}
				}
				count("recipient", match >= 0, where+" "+e.Recipient)
			} else if pos < len(rs) && !used[pos] {
				match = pos
			}
			if match < 0 {
				continue
			}
			used[match] = true
			r := rs[match]
			if want == "delivered" {
				count("delivered action", r.Action == ActionDelivered, where)
				continue
			}
			if e.Status != "" {
				ok := r.Status == e.Status
				if p := strings.Split(e.Status, "."); len(p) == 3 {
					if n, err := strconv.Atoi(p[2]); err == nil && n >= 900 {
						ok = r.Status != "" && r.Status[0] == e.Status[0]
					}
				}
				count("status", ok, where+" want "+e.Status+" got "+r.Status)
			}
			if e.ReplyCode != "" {
				count("reply code", r.ReplyCode == e.ReplyCode, where)
			}
			count("reason", string(r.Reason) == want, where+" want "+want+" got "+string(r.Reason))
			if e.HardBounce != nil {
				count("hard/soft", r.Hard == *e.HardBounce, where)
			}
		}
	}
	return tally, misses
}

func normAddrScore(a string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(a), "<>"))
}

// TestCorpusRatchet scores the classifier on the shared corpus (when
// present) and fails when a figure drops below the ratchet.
func TestCorpusRatchet(t *testing.T) {
	root := corpusRoot()
	if root == "" {
		t.Skip("shared corpus absent (../shared/corpus)")
	}
	rows := readExpected(t, root)
	tally, misses := scoreCorpus(rows, classifyCorpus(t, root, rows))
	names := make([]string, 0, len(tally))
	for m := range tally {
		names = append(names, m)
	}
	sort.Strings(names)
	for _, m := range names {
		c := tally[m]
		pct := 100 * float64(c[0]) / float64(c[1])
		t.Logf("%-22s %4d/%-4d %6.1f%%", m, c[0], c[1], pct)
		if floor, ok := ratchet[m]; ok && pct+1e-9 < floor {
			ms := misses[m]
			if len(ms) > 10 {
				ms = ms[:10]
			}
			t.Errorf("corpus %s = %.1f%%, below the ratchet %.1f%%; first misses:\n  %s", m, pct, floor, strings.Join(ms, "\n  "))
		}
	}
	nb := tally["not-bounce kept clean"]
	if nb[1]-nb[0] > maxFalseBounces {
		t.Errorf("corpus: %d false bounces, want at most %d: %v", nb[1]-nb[0], maxFalseBounces, misses["not-bounce kept clean"])
	}
}

package classify

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/bounced/bounced/internal/cputime"
	gomessage "github.com/emersion/go-message"
)

// benchMails returns the mails of the shared corpus, or the fixtures when
// the corpus is absent.
func benchMails(b *testing.B) [][]byte {
	var paths []string
	if root := corpusRoot(); root != "" {
		for _, dir := range []string{"bsd", "dos", "not", "mailbox"} {
			ps, _ := filepath.Glob(filepath.Join(root, dir, "*"))
			paths = append(paths, ps...)
		}
	} else {
		paths = fixtures(b)
	}
	var mails [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		if IsMbox(data) {
			mails = append(mails, SplitMbox(data)...)
			continue
		}
		mails = append(mails, data)
	}
	return mails
}

// BenchmarkMessage classifies every corpus mail once per iteration; it
// reports messages per second and allocations per message.
func BenchmarkMessage(b *testing.B) {
	mails := benchMails(b)
	b.ReportAllocs()
	m0 := mallocs()
	b.ResetTimer()
	for b.Loop() {
		for _, m := range mails {
			Message(m) //nolint:errcheck // not-a-message inputs are part of the corpus
		}
	}
	reportPerMessage(b, len(mails), m0)
}

// BenchmarkGoMessageWalk is the reference point: a plain go-message walk
// of the same mails that decodes every part (strict reading; a mail it
// refuses costs what it read so far).
func BenchmarkGoMessageWalk(b *testing.B) {
	mails := benchMails(b)
	b.ReportAllocs()
	m0 := mallocs()
	b.ResetTimer()
	for b.Loop() {
		for _, m := range mails {
			e, err := gomessage.Read(bytes.NewReader(m))
			if e == nil {
				continue
			}
			_ = err
			walkEntity(e, 0)
		}
	}
	reportPerMessage(b, len(mails), m0)
}

// BenchmarkClassifyVsWalk is the classifier's speed goal as one ratio: each
// iteration walks every corpus mail with go-message, then classifies every
// one, each pass after a collection so that it pays for its own garbage.
// Alternating the two inside one run cancels most of the load of a shared
// machine. Metrics: classify/walk (CPU time of the process, the figure to
// quote; wall-classify/walk beside it) and the CPU µs of each a mail.
func BenchmarkClassifyVsWalk(b *testing.B) {
	mails := benchMails(b)
	var walkCPU, classifyCPU, walkWall, classifyWall time.Duration
	for b.Loop() {
		runtime.GC()
		c0, w0 := cputime.Process(), time.Now()
		for _, m := range mails {
			if e, _ := gomessage.Read(bytes.NewReader(m)); e != nil {
				walkEntity(e, 0)
			}
		}
		walkCPU += cputime.Process() - c0
		walkWall += time.Since(w0)
		runtime.GC()
		c0, w0 = cputime.Process(), time.Now()
		for _, m := range mails {
			Message(m) //nolint:errcheck // not-a-message inputs are part of the corpus
		}
		classifyCPU += cputime.Process() - c0
		classifyWall += time.Since(w0)
	}
	n := float64(b.N) * float64(len(mails))
	if walkCPU > 0 {
		b.ReportMetric(float64(classifyCPU)/float64(walkCPU), "classify/walk")
		b.ReportMetric(float64(classifyCPU.Microseconds())/n, "classify-cpu-µs/msg")
		b.ReportMetric(float64(walkCPU.Microseconds())/n, "walk-cpu-µs/msg")
	}
	b.ReportMetric(float64(classifyWall)/float64(walkWall), "wall-classify/walk")
}

func walkEntity(e *gomessage.Entity, depth int) {
	if depth > maxDepth {
		return
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			p, err := mr.NextPart()
			if err != nil {
				return
			}
			walkEntity(p, depth+1)
		}
	}
	io.Copy(io.Discard, e.Body) //nolint:errcheck // broken parts are expected
}

// reportPerMessage turns per-pass figures into per-message ones.
func reportPerMessage(b *testing.B, n int, mallocs0 uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	total := float64(b.N) * float64(n)
	b.ReportMetric(total/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(ms.Mallocs-mallocs0)/total, "allocs/msg")
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

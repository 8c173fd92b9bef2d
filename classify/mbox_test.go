package classify

import (
	"strings"
	"testing"
)

func TestSplitMbox(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"one", "From a@b Mon Jan 1 00:00:00 2024\nSubject: x\n\nbody\n", []string{"Subject: x\n\nbody\n"}},
		{"two", "From a\nA: 1\n\nx\n\nFrom b\nB: 2\n\ny\n", []string{"A: 1\n\nx\n", "B: 2\n\ny\n"}},
		{"from in body not after blank", "From a\nA: 1\n\nline\nFrom me to you\n", []string{"A: 1\n\nline\nFrom me to you\n"}},
		{"crlf", "From a\r\nA: 1\r\n\r\nx\r\n\r\nFrom b\r\nB: 2\r\n\r\ny\r\n", []string{"A: 1\r\n\r\nx\r\n", "B: 2\r\n\r\ny\r\n"}},
		{"cr", "From a\rA: 1\r\rx\r\rFrom b\rB: 2\r\ry\r", []string{"A: 1\r\rx\r", "B: 2\r\ry\r"}},
		{"no final newline", "From a\nA: 1\n\nx", []string{"A: 1\n\nx"}},
	}
	for _, tt := range tests {
		got := SplitMbox([]byte(tt.in))
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
		}
		if strings.Join(gs, "|") != strings.Join(tt.want, "|") {
			t.Errorf("SplitMbox(%s) = %q, want %q", tt.name, gs, tt.want)
		}
	}
}

func FuzzSplitMbox(f *testing.F) {
	f.Add([]byte("From a\nA: 1\n\nx\n\nFrom b\nB: 2\n\ny\n"))
	f.Add([]byte("From \r\r\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		total := 0
		for _, m := range SplitMbox(data) {
			total += len(m)
		}
		if total > len(data) {
			t.Fatalf("SplitMbox returned %d bytes from %d", total, len(data))
		}
	})
}

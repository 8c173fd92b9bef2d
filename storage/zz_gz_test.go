package storage

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkZZGzip(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "sisimai", "bsd", "*.eml"))
	var mails [][]byte
	var all []byte
	for _, f := range files[:200] {
		raw, _ := os.ReadFile(f)
		mails = append(mails, raw)
		all = append(all, raw...)
	}
	b.Run("one", func(b *testing.B) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		for i := 0; i < b.N; i++ {
			m := mails[i%len(mails)]
			buf.Reset()
			zw.Reset(&buf)
			zw.Write(m)
			zw.Close()
		}
	})
	b.Run("block200", func(b *testing.B) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		for i := 0; i < b.N; i++ {
			buf.Reset()
			zw.Reset(&buf)
			zw.Write(all)
			zw.Close()
		}
		b.ReportMetric(float64(buf.Len())/float64(len(all)), "ratio")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/200, "ns/mail")
	})
}

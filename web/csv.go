package web

import (
	"encoding/csv"
	"io"
)

// CSVWriter is the one CSV writer of bounced's outputs (the report's
// download here, and `bounced report` and `bounced suppressions`): a
// csv.Writer whose cells a spreadsheet reads as text, never as a formula.
type CSVWriter struct{ *csv.Writer }

// NewCSVWriter returns a CSVWriter on w.
func NewCSVWriter(w io.Writer) CSVWriter { return CSVWriter{csv.NewWriter(w)} }

// Write writes one record, each cell made safe by CSVCell.
func (w CSVWriter) Write(record []string) error {
	safe := make([]string, len(record))
	for i, c := range record {
		safe[i] = CSVCell(c)
	}
	return w.Writer.Write(safe)
}

// CSVCell returns c as a spreadsheet shows it without running it: a cell
// starting with '=', '+', '-', '@', a tab or a carriage return (a formula
// to Excel, LibreOffice and Google Sheets: "=cmd|'/Ccalc'!A0@example.org")
// gets a leading single quote (OWASP's advice on CSV injection); a cell
// starting with a quote gets one more, so that a program gets every value
// back by dropping one leading quote from each cell that has one. A plain
// number, negative too, stays as it is.
func CSVCell(c string) string {
	if c == "" || isPlainNumber(c) {
		return c
	}
	switch c[0] {
	case '=', '+', '-', '@', '\t', '\r', '\'':
		return "'" + c
	}
	return c
}

// isPlainNumber reports whether s is a decimal number: an optional '-',
// digits, optionally a '.' and more digits.
func isPlainNumber(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			digits++
		case s[i] == '.' && !dot && digits > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

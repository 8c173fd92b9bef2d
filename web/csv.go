package web

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"

	"github.com/bounced/bounced/storage"
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

// SuppressionsHeader is the header row of the suppression list as CSV,
// the columns of `bounced suppressions --format csv` and of the report's
// download alike.
var SuppressionsHeader = []string{"address", "reason", "since", "set_by", "note", "domain", "bounces", "complaints", "score", "last_bounce", "stored_id", "suppressed_at"}

// SuppressionRow is one suppressed address as a CSV row under
// SuppressionsHeader.
func SuppressionRow(r storage.Recipient) []string {
	setBy := "policy"
	if r.Manual {
		setBy = "manual"
	}
	return []string{r.Address, r.Reason, rfc3339(r.Since), setBy, r.Note, r.Domain,
		strconv.Itoa(r.Bounces), strconv.Itoa(r.Complaints), strconv.FormatFloat(r.Score, 'f', 2, 64),
		rfc3339(r.LastBounce), strconv.FormatInt(r.StoredID, 10), rfc3339(r.SuppressedAt)}
}

// rfc3339 is t in UTC as RFC 3339, "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

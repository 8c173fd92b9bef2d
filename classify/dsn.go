package classify

// The RFC 3464 branch: a DSN's status parts (RFC 6533 for the global
// ones), their per-recipient fields, and the verdict made from them.

import (
	"fmt"
	"strings"
)

// readDSN collects the delivery status fields of the mail: its
// message/delivery-status parts (RFC 3464) and
// message/global-delivery-status parts (RFC 6533), or else DSN fields
// written into the text. It sets the verdict's Reporting-MTA and
// Arrival-Date.
func (c *classifier) readDSN() dsnReport {
	var dsn dsnReport
	for _, p := range c.m.Parts {
		if p.Type == "message/delivery-status" || p.Type == "message/global-delivery-status" {
			d := parseDSN(p.Body)
			// maxRecipients bounds the whole mail, not each of its
			// (up to maxParts) status parts; the rest is counted for the
			// note.
			dsn.Dropped += d.Dropped
			if room := maxRecipients - len(dsn.Recipients); len(d.Recipients) > room {
				dsn.Dropped += len(d.Recipients) - room
				d.Recipients = d.Recipients[:room]
			}
			dsn.Recipients = append(dsn.Recipients, d.Recipients...)
			if dsn.ReportingMTA == "" {
				dsn.ReportingMTA = d.ReportingMTA
			}
			if dsn.ArrivalDate == "" {
				dsn.ArrivalDate = d.ArrivalDate
			}
		}
	}
	if len(dsn.Recipients) == 0 && strings.Contains(c.report, "-Recipient:") {
		// DSN fields written into text/plain
		if d := parseDSN([]byte(c.report)); len(d.Recipients) > 0 {
			dsn = d
		}
	}
	if len(dsn.Recipients) > maxRecipients { // from several DSN parts
		dsn.Dropped += len(dsn.Recipients) - maxRecipients
		dsn.Recipients = dsn.Recipients[:maxRecipients]
	}
	c.v.ReportingMTA = cleanHost(stripDiagType(dsn.ReportingMTA))
	c.v.ArrivalDate = parseDate(dsn.ArrivalDate)
	return dsn
}

// fromDSN makes the verdict of a DSN from its recipient blocks, each
// completed with what the prose says of it (texts). It reports whether
// the DSN named anybody; when it did not, the prose decides.
func (c *classifier) fromDSN(dsn dsnReport, family string, texts []textRecipient) bool {
	if len(dsn.Recipients) == 0 {
		return false
	}
	v := c.v
	decoder := "rfc3464"
	if family != "" {
		decoder = family
	}
	v.Decoder = decoder
	c.noteLimit(len(dsn.Recipients), dsn.Dropped)
	// One mail reports an address once: a status part repeated (a
	// bounce of a bounce returned inside it) must not count one
	// failure twice toward the recipient's soft score. A block without a
	// mail address ("Final-Recipient: x400; ...") names nobody to score.
	// Both are dropped, and the verdict says so.
	seen := map[string]bool{}
	var repeated, unnamed cut
	for _, r := range dsn.Recipients {
		addr := r.address()
		switch {
		case addr == "":
			unnamed.add(r.value())
			continue
		case seen[lower(addr)]:
			repeated.add(addr)
			continue
		}
		seen[lower(addr)] = true
		v.Recipients = append(v.Recipients, c.dsnBlock(r, addr, texts, len(dsn.Recipients) == 1))
	}
	if repeated.n > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("recipients: %d DSN %s an address already reported, kept once (first: %s)",
			repeated.n, plural(repeated.n, "block repeats", "blocks repeat"), repeated.first))
	}
	if unnamed.n > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("recipients: %d DSN %s no mail address, dropped (first: %q)",
			unnamed.n, plural(unnamed.n, "block names", "blocks name"), clip(unnamed.first, 100)))
	}
	if len(v.Recipients) == 0 {
		return false
	}
	c.finish(decoder, "dsn")
	return true
}

// dsnBlock makes the Recipient of one DSN block whose address is
// addr; only says whether it is the DSN's only block.
func (c *classifier) dsnBlock(r dsnRecipient, addr string, texts []textRecipient, only bool) Recipient {
	diagType, diag := splitDiagType(r.Diagnostic)
	rec := Recipient{
		Address:    addr,
		Action:     normAction(r.Action),
		Status:     findStatus(r.Status),
		Diagnostic: diag,
		RemoteMTA:  cleanHost(stripDiagType(r.RemoteMTA)),
	}
	rec.LastAttempt = parseDate(r.LastAttempt)
	if rec.Action == "" {
		switch {
		case strings.HasPrefix(rec.Status, "2"):
			rec.Action = ActionDelivered
		case strings.HasPrefix(rec.Status, "4"):
			rec.Action = ActionDelayed
		default:
			rec.Action = ActionFailed
		}
	}
	t := textFor(texts, addr)
	if t != "" && (rec.Diagnostic == "" || findReplyCode(rec.Diagnostic) == "" && findReplyCode(t) != "") {
		if rec.Diagnostic == "" {
			rec.Diagnostic = t
		} else {
			rec.Diagnostic += " " + t
		}
	}
	x := recipientExtra{diagType: diagType, prose: t}
	if only && findFailReply(rec.Diagnostic) == "" {
		// "X-Unix; 255" from "|/home/u/bin/filter": the session
		// transcript of the report holds the reply ("554 5.3.0
		// unknown mailer error 255")
		x.transcript = codeLines(t)
		if findFailReply(x.transcript) == "" {
			x.transcript = codeLines(c.report)
		}
	}
	c.note(addr, x)
	return rec
}

// dsnRecipient is one per-recipient block of a delivery status
// notification, fields as written.
type dsnRecipient struct {
	Final, Original, Actual string
	Action, Status          string
	RemoteMTA, Diagnostic   string
	LastAttempt             string
}

// dsnReport is a parsed message/delivery-status body (RFC 3464 §2.2 and
// §2.3; RFC 6533 for message/global-delivery-status, whose addresses may
// be UTF-8).
type dsnReport struct {
	ReportingMTA string
	ArrivalDate  string
	Recipients   []dsnRecipient
	Dropped      int // recipient blocks past maxRecipients: counted, not kept
}

// parseDSN reads delivery status fields from b. It is lenient: lines that
// are no DSN field are skipped (so it also reads DSN-like blocks inside
// text/plain), folded lines are unfolded, and a recipient block starts at
// a blank line or when a recipient field repeats. It keeps the first
// maxRecipients blocks and counts the rest in Dropped.
func parseDSN(b []byte) dsnReport {
	var rep dsnReport
	var cur *dsnRecipient
	var spare dsnRecipient // a block past the limit, read to be counted
	var last *string       // the field a continuation line extends
	blank := true
	s := string(b)
	for len(s) > 0 {
		var line string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			line, s = s, ""
		}
		if strings.TrimSpace(line) == "" {
			blank = true
			last = nil
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && last != nil {
			*last = strings.TrimSpace(*last + " " + strings.TrimSpace(line))
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			last = nil
			continue
		}
		name = dsnFieldName(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		newRecord := func() {
			if len(rep.Recipients) < maxRecipients {
				rep.Recipients = append(rep.Recipients, dsnRecipient{})
				cur = &rep.Recipients[len(rep.Recipients)-1]
				return
			}
			if cur == &spare && spare.named() {
				rep.Dropped++
			}
			spare, cur = dsnRecipient{}, &spare
		}
		last = nil
		switch name {
		case "reporting-mta":
			if rep.ReportingMTA == "" {
				rep.ReportingMTA = value
				last = &rep.ReportingMTA
			}
		case "arrival-date":
			if rep.ArrivalDate == "" {
				rep.ArrivalDate = value
				last = &rep.ArrivalDate
			}
		case "final-recipient", "original-recipient", "x-actual-recipient":
			// RFC 3464 §2.3: each recipient's fields form one block.
			if cur == nil || blank && (cur.Final != "" || cur.Original != "") ||
				name == "final-recipient" && cur.Final != "" ||
				name == "original-recipient" && cur.Original != "" && cur.Final != "" {
				newRecord()
			}
			switch name {
			case "final-recipient":
				cur.Final = value
				last = &cur.Final
			case "original-recipient":
				cur.Original = value
				last = &cur.Original
			default:
				cur.Actual = value
				last = &cur.Actual
			}
		case "action", "status", "remote-mta", "diagnostic-code", "last-attempt-date":
			if cur == nil {
				newRecord()
			}
			var dst *string
			switch name {
			case "action":
				dst = &cur.Action
			case "status":
				dst = &cur.Status
			case "remote-mta":
				dst = &cur.RemoteMTA
			case "diagnostic-code":
				dst = &cur.Diagnostic
			default:
				dst = &cur.LastAttempt
			}
			if *dst == "" {
				*dst = value
				last = dst
			}
		}
		blank = false
	}
	if cur == &spare && spare.named() {
		rep.Dropped++
	}
	// Drop blocks that name nobody and say nothing.
	out := rep.Recipients[:0]
	for _, r := range rep.Recipients {
		if r.named() {
			out = append(out, r)
		} else if len(out) > 0 {
			prev := &out[len(out)-1]
			if prev.Action == "" {
				prev.Action = r.Action
			}
			if prev.Status == "" {
				prev.Status = r.Status
			}
			if prev.Diagnostic == "" {
				prev.Diagnostic = r.Diagnostic
			}
		}
	}
	rep.Recipients = out
	return rep
}

// cut counts the DSN blocks of one kind that a verdict drops, and keeps
// the first one's value for the note.
type cut struct {
	n     int
	first string
}

func (c *cut) add(value string) {
	if c.n == 0 {
		c.first = value
	}
	c.n++
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// value returns the recipient field of a block as written, for a note.
func (r dsnRecipient) value() string {
	for _, v := range []string{r.Final, r.Actual, r.Original} {
		if v != "" {
			return v
		}
	}
	return ""
}

// named reports whether a recipient block has a recipient field.
func (r *dsnRecipient) named() bool {
	return r.Final != "" || r.Original != "" || r.Actual != ""
}

// dsnFields are the DSN field names parseDSN reads, lower case.
var dsnFields = []string{"reporting-mta", "arrival-date", "final-recipient", "original-recipient",
	"x-actual-recipient", "action", "status", "remote-mta", "diagnostic-code", "last-attempt-date"}

// dsnFieldName returns the lower-case name of a DSN field parseDSN reads,
// or "" for any other name, without allocating.
func dsnFieldName(name string) string {
	for _, f := range dsnFields {
		if len(f) == len(name) && strings.EqualFold(f, name) {
			return f
		}
	}
	return ""
}

// address picks the recipient's address: the Final-Recipient when it is a
// mail address, else the X-Actual-Recipient or Original-Recipient.
func (r dsnRecipient) address() string {
	for _, v := range []string{r.Final, r.Actual, r.Original} {
		if a := cleanAddr(v); a != "" {
			return a
		}
	}
	return ""
}

// normAction maps the Action values MTAs really write onto RFC 3464's.
func normAction(a string) Action {
	a = lower(strings.TrimSpace(a))
	if i := strings.IndexAny(a, " (;"); i > 0 {
		a = a[:i]
	}
	switch a {
	case "failed", "failure", "fail", "expired", "bounced", "bounce", "error":
		return ActionFailed
	case "delayed", "delay", "deferred", "transient":
		return ActionDelayed
	case "delivered", "deliverd", "success", "sent":
		return ActionDelivered
	case "relayed":
		return ActionRelayed
	case "expanded":
		return ActionExpanded
	}
	return ""
}

// stripDiagType drops the diagnostic type of a Diagnostic-Code ("smtp;",
// "X-Postfix;", "X-Unix;").
func stripDiagType(d string) string {
	_, text := splitDiagType(d)
	return text
}

// splitDiagType splits a Diagnostic-Code (RFC 3464 §2.3.6: diagnostic-type
// ";" *text) into its type, lower case ("smtp", "x-unix", "x-postfix"), and
// its text. A value without a type yields "" and the value.
func splitDiagType(d string) (typ, text string) {
	d = strings.TrimSpace(d)
	if i := strings.IndexByte(d, ';'); i > 0 && i < 16 && !strings.ContainsAny(d[:i], " <@") {
		return lower(strings.TrimSpace(d[:i])), strings.TrimSpace(d[i+1:])
	}
	return "", d
}

// isExitStatus reports whether text is only a small decimal number, as the
// X-Unix diagnostics of local delivery programs are (a sysexits.h code
// such as 75 or 255), and no SMTP reply.
func isExitStatus(text string) bool {
	if text == "" || len(text) > 3 {
		return false
	}
	for i := 0; i < len(text); i++ {
		if !isDigit(text[i]) {
			return false
		}
	}
	if len(text) == 3 && (text[0] == '4' || text[0] == '5') {
		return false
	}
	return text < "256" || len(text) < 3
}

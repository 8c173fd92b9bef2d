package classify

import (
	"strings"
)

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
	a = strings.ToLower(strings.TrimSpace(a))
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
		return strings.ToLower(strings.TrimSpace(d[:i])), strings.TrimSpace(d[i+1:])
	}
	return "", d
}

package classify

// RFC 5965 feedback reports, and the complaints providers send without ARF.

import "strings"

// arfReport is a parsed message/feedback-report (RFC 5965 §3.1).
type arfReport struct {
	FeedbackType string   // lower case
	Recipients   []string // Original-Rcpt-To and Removal-Recipient
	ArrivalDate  string
	ReportingMTA string
}

// parseARF reads the fields of a feedback report; unknown fields are
// skipped, folded lines unfolded.
func parseARF(b []byte) arfReport {
	var r arfReport
	h, _ := readHeader(b)
	for _, f := range h {
		switch lower(f.Name) {
		case "feedback-type":
			if r.FeedbackType == "" {
				r.FeedbackType = lower(f.value())
			}
		case "original-rcpt-to", "removal-recipient":
			if a := cleanAddr(f.value()); a != "" {
				r.Recipients = append(r.Recipients, a)
			}
		case "arrival-date", "received-date":
			if r.ArrivalDate == "" {
				r.ArrivalDate = f.value()
			}
		case "reporting-mta":
			r.ReportingMTA = f.value()
		}
	}
	return r
}

// feedbackReport reads an RFC 5965 feedback report. It reports whether the
// mail is one.
func (c *classifier) feedbackReport() bool {
	for _, p := range c.m.Parts {
		if p.Type == "message/feedback-report" {
			c.arf(parseARF(p.Body))
			return true
		}
	}
	if strings.Contains(lower(c.m.Header.get("Content-Type")), "feedback-report") {
		// a report whose feedback part was lost: read fields from the text
		c.arf(parseARF([]byte(extractFields(c.report))))
		return true
	}
	return false
}

// arf fills the verdict of a feedback report.
func (c *classifier) arf(r arfReport) {
	v := c.v
	v.Decoder, v.FeedbackType = "arf", r.FeedbackType
	if v.FeedbackType == "" {
		v.FeedbackType = "other"
	}
	v.Kind = complaintKind(v.FeedbackType)
	v.Rule = "arf:" + v.FeedbackType
	v.ReportingMTA = stripDiagType(r.ReportingMTA)
	v.ArrivalDate = parseDate(r.ArrivalDate)
	addrs := r.Recipients
	if len(addrs) == 0 && c.orig != nil {
		addrs = headerAddrs(c.orig.get("To"))
	}
	for _, a := range addrs {
		v.Recipients = append(v.Recipients, Recipient{Address: a, Reason: ReasonFeedback, Rule: v.Rule})
	}
}

// extractFields returns the "Name: value" lines of s.
func extractFields(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && isFieldName(name) {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// complaintKind maps an ARF Feedback-Type onto a Kind: abuse, fraud,
// virus and other are complaints (RFC 5965 §7.3); not-spam,
// auth-failure and dmarc reports are not.
func complaintKind(feedbackType string) Kind {
	switch feedbackType {
	case "not-spam", "auth-failure", "dmarc":
		return KindReport
	}
	return KindComplaint
}

// providerComplaint recognises the complaint notices that big providers
// send without ARF (a forwarded copy of the mail and a sentence saying a
// user marked it as spam). It returns the feedback type, or "".
func providerComplaint(m *message, lower string) string {
	subj := strings.ToLower(m.Header.get("Subject"))
	from := strings.ToLower(m.Header.get("From"))
	lt := lower
	switch {
	case strings.Contains(from, "complaints@") || strings.Contains(from, "feedbackloop") || strings.Contains(from, "fbl@"):
		return "abuse"
	case strings.Contains(subj, "complaint about message") || strings.Contains(subj, "spam report") || strings.Contains(subj, "abuse report"):
		return "abuse"
	case strings.Contains(lt, "marked as spam") || strings.Contains(lt, "reported as spam") || strings.Contains(lt, "this is an email abuse report"):
		if !strings.Contains(lt, "could not be delivered") {
			return "abuse"
		}
	}
	return ""
}

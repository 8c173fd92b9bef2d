package classify

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
		switch strings.ToLower(f.Name) {
		case "feedback-type":
			if r.FeedbackType == "" {
				r.FeedbackType = strings.ToLower(f.value())
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

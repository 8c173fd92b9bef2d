package classify

import (
	"encoding/json"
	"strings"
)

// sesNotification is the JSON that Amazon SES sends through SNS for
// bounces, complaints and deliveries.
type sesNotification struct {
	NotificationType string `json:"notificationType"`
	Bounce           struct {
		BounceType        string `json:"bounceType"`
		ReportingMTA      string `json:"reportingMTA"`
		BouncedRecipients []struct {
			EmailAddress   string `json:"emailAddress"`
			Action         string `json:"action"`
			Status         string `json:"status"`
			DiagnosticCode string `json:"diagnosticCode"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint struct {
		ComplainedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
		ComplaintFeedbackType string `json:"complaintFeedbackType"`
	} `json:"complaint"`
	Delivery struct {
		Recipients   []string `json:"recipients"`
		SMTPResponse string   `json:"smtpResponse"`
		ReportingMTA string   `json:"reportingMTA"`
	} `json:"delivery"`
	Mail struct {
		MessageID     string `json:"messageId"`
		Source        string `json:"source"`
		CommonHeaders struct {
			From      []string `json:"from"`
			To        []string `json:"to"`
			Subject   string   `json:"subject"`
			MessageID string   `json:"messageId"`
			Date      string   `json:"date"`
		} `json:"commonHeaders"`
	} `json:"mail"`
}

// sesMarkers start an SES notification, and one quoted in an SNS envelope.
var sesMarkers = []string{`{"notificationType"`, `\"notificationType\"`}

// containsEither reports whether a+b holds one of the markers, without
// making a+b.
func containsEither(a, b string, markers []string) bool {
	for _, m := range markers {
		if strings.Contains(a, m) || strings.Contains(b, m) {
			return true
		}
		for k := 1; k < len(m); k++ { // one that starts in a and ends in b
			if strings.HasSuffix(a, m[:k]) && strings.HasPrefix(b, m[k:]) {
				return true
			}
		}
	}
	return false
}

// amazonSES reads an SES notification from the report text. It reports
// whether it found one.
func (c *classifier) amazonSES() bool {
	if !containsEither(c.report, c.quoted, sesMarkers) {
		return false // most mail: no copy of the whole text to find that out
	}
	text := c.report + c.quoted
	var js string
	if i := strings.Index(text, sesMarkers[0]); i >= 0 {
		js = text[i:]
	} else if i := strings.Index(text, sesMarkers[1]); i >= 0 {
		// the raw SNS envelope: the notification is its "Message" string
		j := strings.LastIndexByte(text[:i], '{')
		j = strings.LastIndexByte(text[:max(j, 0)], '{')
		if j < 0 {
			return false
		}
		var env struct{ Message string }
		if err := json.NewDecoder(strings.NewReader(strings.ReplaceAll(text[j:], "!\n ", ""))).Decode(&env); err != nil {
			c.v.Notes = append(c.v.Notes, "amazonses: "+err.Error())
			return false
		}
		js = env.Message
	} else {
		return false
	}
	// Mail software folds long lines as "!\n "; undo it before decoding.
	js = strings.ReplaceAll(js, "!\n ", "")
	var n sesNotification
	if err := json.NewDecoder(strings.NewReader(js)).Decode(&n); err != nil {
		c.v.Notes = append(c.v.Notes, "amazonses: "+err.Error())
		return false
	}
	v := c.v
	v.Decoder = "amazonses"
	v.Original.From = strings.Join(n.Mail.CommonHeaders.From, ", ")
	v.Original.To = strings.Join(n.Mail.CommonHeaders.To, ", ")
	v.Original.Subject = n.Mail.CommonHeaders.Subject
	v.Original.Date = n.Mail.CommonHeaders.Date
	v.Original.MessageID = strings.Trim(n.Mail.CommonHeaders.MessageID, "<>")
	switch lower(n.NotificationType) {
	case "bounce":
		v.ReportingMTA = stripDiagType(n.Bounce.ReportingMTA)
		for _, r := range n.Bounce.BouncedRecipients {
			if cleanAddr(r.EmailAddress) == "" {
				continue
			}
			a := normAction(r.Action)
			if a == "" {
				a = ActionFailed
				if n.Bounce.BounceType == "Transient" {
					a = ActionDelayed
				}
			}
			v.Recipients = append(v.Recipients, Recipient{Address: cleanAddr(r.EmailAddress), Action: a,
				Status: findStatus(r.Status), Diagnostic: stripDiagType(r.DiagnosticCode)})
		}
		if len(v.Recipients) == 0 {
			v.Kind, v.Rule = KindUnknown, "amazonses:no-recipient"
			return true
		}
		c.finish("amazonses", "amazonses")
	case "complaint":
		v.FeedbackType = lower(n.Complaint.ComplaintFeedbackType)
		if v.FeedbackType == "" {
			v.FeedbackType = "abuse"
		}
		v.Kind, v.Rule = complaintKind(v.FeedbackType), "amazonses:complaint"
		for _, r := range n.Complaint.ComplainedRecipients {
			if a := cleanAddr(r.EmailAddress); a != "" {
				v.Recipients = append(v.Recipients, Recipient{Address: a, Reason: ReasonFeedback, Rule: v.Rule})
			}
		}
	case "delivery":
		v.ReportingMTA = n.Delivery.ReportingMTA
		for _, a := range n.Delivery.Recipients {
			if a = cleanAddr(a); a == "" {
				continue
			}
			v.Recipients = append(v.Recipients, Recipient{Address: a, Action: ActionDelivered,
				Status: findStatus(n.Delivery.SMTPResponse), ReplyCode: findReplyCode(n.Delivery.SMTPResponse),
				Diagnostic: n.Delivery.SMTPResponse})
		}
		if len(v.Recipients) == 0 {
			v.Kind, v.Rule = KindUnknown, "amazonses:no-recipient"
			return true
		}
		c.finish("amazonses", "amazonses")
	default:
		return false
	}
	return true
}

package classify

import "strings"

// familyRule is one marker of an MTA or provider family. The family names
// are those of the Sisimai bounce parser's decoders, lower-cased, so that
// users and reasonFor know them.
type familyRule struct {
	family string
	where  string // "text" (report text), "quoted" (its start), "from", "subject", "received" (any), or a field name
	marker string // lower-case substring; "" = the field exists
}

// familyRules are tried in order; the first match names the family.
var familyRules = []familyRule{
	{"googlegroups", "text", "google groups"},
	{"googlegroups", "text", "googlegroups.com"},
	{"googlegroups", "X-Failed-Recipients", "googlegroups.com"},
	{"googleworkspace", "text", "google workspace"},
	{"amazonses", "from", "amazonses.com"},
	{"amazonses", "from", "sns.amazonaws.com"},
	{"amazonses", "X-SES-Outgoing", ""},
	{"dragonfly", "text", "dragonfly mail agent"},
	{"opensmtpd", "text", "opensmtpd"},
	{"opensmtpd", "text", "this is the mailer-daemon, please do not reply to this email"},
	{"qmail", "text", "this is the qmail-send program"},
	{"qmail", "text", "qmail-send"},
	{"qmail", "received", "invoked for bounce"},
	{"qmail", "quoted", "below this line is a copy of the message"},
	{"postfix", "X-Postfix-Queue-Id", ""},
	{"postfix", "text", "this is the mail system at host"},
	{"postfix", "text", "the mail system\n"},
	{"einsundeins", "from", "kundenserver"},
	{"einsundeins", "text", "the header of the original message is following"},
	{"gmx", "from", "gmx."},
	{"gmail", "from", "googlemail.com"},
	{"exim", "X-Failed-Recipients", ""},
	{"exim", "text", "this message was created automatically by mail delivery software"},
	{"v5sendmail", "text", "unsent message follows"},
	{"v5sendmail", "quoted", "unsent message follows"}, // the report is cut there
	{"sendmail", "text", "transcript of session follows"},
	{"sendmail", "text", "the original message was received at"},
	{"googlegroups", "subject", "group"},
	{"gmail", "text", "delivery to the following recipient failed"},
	{"office365", "X-MS-Exchange-CrossTenant-Id", ""},
	{"exchange2007", "X-MS-Exchange-Message-Is-Ndr", ""},
	{"exchange2007", "text", "diagnostic information for administrators"},
	{"exchange2007", "text", "delivery has failed to these recipients"},
	{"exchange2003", "text", "your message did not reach some or all of the intended recipients"},
	{"exchange2003", "X-Mailer", "microsoft exchange"},
	{"messagingserver", "text", "this report relates to a message you sent"},
	{"messagingserver", "text", "messaging server"},
	{"ezweb", "from", "ezweb.ne.jp"},
	{"kddi", "from", "dion.ne.jp"},
	{"kddi", "from", "kddi"},
	{"biglobe", "from", "biglobe.ne.jp"},
	{"notes", "text", "lotus notes"},
	{"notes", "subject", "undeliverable message"},
	{"domino", "text", "domino"},
	{"domino", "subject", "delivery failure:"},
	{"imailserver", "X-Mailer", "imail"},
	{"imailserver", "text", "original message follows."},
	{"courier", "text", "courier mail server"},
	{"courier", "subject", "notice: mail delivery status"},
	{"mfilter", "text", "mfilter"},
	{"mailfoundry", "subject", "message delivery has failed"},
	{"mailmarshalsmtp", "text", "mailmarshal"},
	{"mimecast", "subject", "[postmaster] email delivery failure"},
	{"activehunter", "subject", "failure notice :"},
	{"interscanmss", "from", "interscan"},
	{"verizon", "from", "vzwpix.com"},
	{"fml", "X-Mlserver", ""},
	{"fml", "text", "you are not a member"},
	{"apachejames", "text", "james"},
	{"zoho", "from", "zoho.com"},
	{"zoho", "X-Zohomail", ""},
	{"opensmtpd", "received", "(opensmtpd)"}, // last: a relay may run it
}

// familyText finds every "text" marker of familyRules in one pass over
// the report; familyTextID is each rule's pattern id (-1: not a text rule).
var familyText, familyTextID = newFamilyText()

func newFamilyText() (phraseMatcher, []int32) {
	ids := make([]int32, len(familyRules))
	seen := map[string]int32{}
	var pats []string
	for i, f := range familyRules {
		ids[i] = -1
		if f.where != "text" {
			continue
		}
		id, ok := seen[f.marker]
		if !ok {
			id = int32(len(pats))
			seen[f.marker] = id
			pats = append(pats, f.marker)
		}
		ids[i] = id
	}
	return newPhraseMatcher(pats), ids
}

// family names the MTA or provider family of a bounce, or "".
func (c *classifier) family() string {
	var found [maxPhrasePatterns / 64]uint64
	familyText.scan(c.lowerReport(), &found)
	from := strings.ToLower(c.m.Header.get("From"))
	subj := strings.ToLower(decodeWords(c.m.Header.get("Subject")))
	for i, f := range familyRules {
		var v string
		switch f.where {
		case "text":
			if id := familyTextID[i]; found[id/64]&(1<<(id%64)) != 0 {
				return f.family
			}
			continue
		case "from":
			v = from
		case "subject":
			v = subj
		case "quoted":
			v = strings.ToLower(c.quoted[:min(len(c.quoted), 200)])
		case "received":
			v = ""
			for _, fl := range c.m.Header {
				if len(fl.Name) == len("Received") && strings.EqualFold(fl.Name, "Received") && indexFold(fl.value(), f.marker) >= 0 {
					v = f.marker
					break
				}
			}
			if v == "" {
				continue
			}
		default:
			if !c.m.Header.has(f.where) {
				continue
			}
			v = strings.ToLower(c.m.Header.get(f.where))
		}
		if strings.Contains(v, f.marker) {
			return f.family
		}
	}
	return ""
}

// familyReason is what a family's notices mean when their text names no
// reason the phrase table knows: Google Groups rejects posts of
// non-members.
func familyReason(family string) Reason {
	switch family {
	case "googlegroups":
		return ReasonRejected
	}
	return ""
}

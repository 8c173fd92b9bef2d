package classify

import "strings"

// autoreplySubjects are lower-case phrases of vacation and out-of-office
// subjects in several languages: enough on their own.
var autoreplySubjects = []string{
	"auto:", "autoreply", "auto-reply", "auto reply", "automatic reply", "autoresponse", "autorespons",
	"auto response", "out of office", "out of the office", "out-of-office", "away from my mail",
	"away from the office", "abwesenheitsnotiz", "automatische antwort", "nicht im büro",
	"réponse automatique", "reponse automatique", "absent du bureau", "respuesta automática",
	"respuesta automatica", "fuera de la oficina", "risposta automatica", "automatisch antwoord",
	"resposta automática", "automatiskt svar", "automatisk svar", "自動応答", "自動返信", "自动回复",
}

// weakAutoreplySubjects name an auto-reply only when the mail also comes
// from a null sender or with bulk precedence: ordinary mail uses these
// words too.
var weakAutoreplySubjects = []string{
	"vacation", "on holiday", "on leave", "absence", "abwesenheit", "afwezig", "frånvaro", "不在",
	"away until", "i am away", "i'm away", "challenge", "please confirm your message", "verify your email",
	"sender verification",
}

// autoreplyRule returns the rule that marks m as an RFC 3834 or
// vacation auto-reply, or "". Bounce evidence is weighed by the caller:
// DSNs carry Auto-Submitted too.
func autoreplyRule(m *message) string {
	h := m.Header
	as := lower(h.get("Auto-Submitted"))
	if strings.HasPrefix(as, "auto-replied") {
		return "autoreply:auto-submitted"
	}
	if h.has("X-Autoreply") || h.has("X-Autorespond") || h.has("X-Autoresponder") || h.has("X-Vacation") {
		return "autoreply:x-autoreply"
	}
	if strings.EqualFold(h.get("X-Auto-Response-Suppress"), "All") && strings.Contains(lower(h.get("Subject")), "automatic reply") {
		return "autoreply:exchange"
	}
	prec := lower(h.get("Precedence"))
	subj := lower(decodeWords(h.get("Subject")))
	for _, s := range autoreplySubjects {
		if strings.Contains(subj, s) {
			return "autoreply:subject"
		}
	}
	nullSender := strings.TrimSpace(h.get("Return-Path")) == "<>"
	if nullSender || prec == "bulk" || prec == "junk" || prec == "list" {
		for _, s := range weakAutoreplySubjects {
			if strings.Contains(subj, s) {
				return "autoreply:subject-null-sender"
			}
		}
	}
	if prec == "auto_reply" || prec == "auto-reply" {
		return "autoreply:precedence"
	}
	if strings.HasPrefix(as, "auto-generated") && (prec == "bulk" || prec == "junk") {
		return "autoreply:auto-generated"
	}
	return ""
}

// challengeMarkers are lower-case phrases of challenge-response mails:
// a filter that holds a message until its sender proves to be a person.
// Such a mail uses bounce words ("undelivered", "held") but reports no
// failure: the message is delivered once the sender answers.
var challengeMarkers = []string{
	"confirm you are a person", "confirm that you are a person", "confirm you are a real person",
	"confirm that you are a real person", "confirm you are human", "confirm that you are human",
	"confirm you are a human", "confirm that you are a human", "verify you are a human",
	"verify that you are a human", "verify you are human", "verify that you are human",
	"verify you are a person", "verify that you are a person", "prove you are a human",
	"prove that you are a human", "prove you are human", "prove that you are human",
	"challenge-response", "challenge/response", "spamarrest", "spam arrest", "choicemail", "(tmda)",
	"boxbe", "mailinblack", "not on my approved senders list", "not on his guest list", "not on her guest list",
	"not on my guest list", "will be delivered once you", "will be delivered as soon as you confirm",
	"delivered after you confirm", "awaiting your confirmation", "pending your confirmation",
	"list of approved senders", "approved senders list", "you only have to do this once",
	"one-time verification", "will be delivered as soon as you do",
}

// challengeText finds every challenge marker in one pass.
var challengeText = newPhraseMatcher(challengeMarkers)

// challengeRule returns the rule that marks a mail as a challenge-response
// request, or "": a challenge phrase in the report text (lower, its white
// space folded), and no SMTP reply or status code in it. A refusal that
// names a code is a bounce whatever else it says ("550 5.7.1 ... prove
// you are human at https://...").
func challengeRule(lower, report string) string {
	var found [maxPhrasePatterns / 64]uint64
	// the phrases wrap across lines ("prove that you\nare a human")
	challengeText.scan(collapseSpace(lower), &found)
	hit := false
	for _, w := range found {
		hit = hit || w != 0
	}
	if !hit || codeLines(report) != "" {
		return ""
	}
	return "autoreply:challenge-response"
}

// challengeRecipient returns the person a challenge-response request
// protects, as the request says: the one recipient of the held message
// it returns, or else the first address its prose names that is not
// offered as a contact ("You sent a message to a@b.example"), the
// request's own sender included (a person's filter writes in their
// name). It returns "" when the request names nobody: a filtering
// service's From is no recipient of the mail that was sent.
func (c *classifier) challengeRecipient() string {
	if c.orig != nil {
		if to := headerAddrs(c.orig.get("To")); len(to) == 1 {
			return to[0]
		}
	}
	// the sender of the held message is the one asked to confirm
	ex := map[string]bool{}
	for _, name := range []string{"To", "Cc", "Return-Path"} {
		for _, a := range headerAddrs(c.m.Header.get(name)) {
			ex[a] = true
		}
	}
	texts, _ := scanText(c.report, ex)
	for _, t := range texts {
		if !t.Contact {
			return t.Addr
		}
	}
	return ""
}

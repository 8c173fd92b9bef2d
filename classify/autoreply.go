package classify

import "strings"

// autoreplySubjects are lower-case subject starts or phrases of vacation
// and out-of-office replies in several languages.
var autoreplySubjects = []string{
	"auto:", "autoreply", "auto-reply", "auto reply", "automatic reply", "autoresponse", "auto response",
	"out of office", "out of the office", "out-of-office", "vacation", "on holiday", "on leave",
	"away from my mail", "away from the office", "i am away", "i'm away",
	"abwesenheit", "abwesenheitsnotiz", "automatische antwort", "nicht im büro",
	"absence", "réponse automatique", "reponse automatique", "absent du bureau",
	"respuesta automática", "respuesta automatica", "fuera de la oficina",
	"risposta automatica", "fuori sede", "afwezig", "automatisch antwoord",
	"resposta automática", "automatiskt svar", "frånvaro", "automatisk svar",
	"自動応答", "自動返信", "不在", "自动回复",
	"challenge", "please confirm your message", "verify your email", "sender verification",
}

// autoreplyRule returns the rule that marks m as an RFC 3834 or
// vacation auto-reply, or "". Bounce evidence is weighed by the caller:
// DSNs carry Auto-Submitted too.
func autoreplyRule(m *message) string {
	h := m.Header
	as := strings.ToLower(h.get("Auto-Submitted"))
	if strings.HasPrefix(as, "auto-replied") {
		return "autoreply:auto-submitted"
	}
	if h.has("X-Autoreply") || h.has("X-Autorespond") || h.has("X-Autoresponder") || h.has("X-Vacation") {
		return "autoreply:x-autoreply"
	}
	if strings.EqualFold(h.get("X-Auto-Response-Suppress"), "All") && strings.Contains(strings.ToLower(h.get("Subject")), "automatic reply") {
		return "autoreply:exchange"
	}
	prec := strings.ToLower(h.get("Precedence"))
	subj := strings.ToLower(decodeWords(h.get("Subject")))
	for _, s := range autoreplySubjects {
		if strings.Contains(subj, s) {
			return "autoreply:subject"
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

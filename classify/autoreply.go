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

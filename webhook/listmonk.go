package webhook

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/bounced/bounced/storage"
)

// listmonk's bounce webhook (https://listmonk.app/docs/bounces/): POST
// {root}/webhooks/bounce with an API user's credentials
// ("Authorization: token USER:TOKEN", the user needs the permission
// webhooks:post_bounce) and a JSON body {email, campaign_uuid, source,
// type, meta}; listmonk answers 200, or 400 for a body it refuses.

// ListmonkPath is the path of listmonk's bounce webhook under its root.
const ListmonkPath = "/webhooks/bounce"

// CampaignHeader is the header listmonk adds to every campaign mail: the
// campaign's UUID. A bounce that returns the original's headers carries it.
const CampaignHeader = "X-Listmonk-Campaign"

// Listmonk's bounce types.
const (
	ListmonkHard      = "hard"
	ListmonkSoft      = "soft"
	ListmonkComplaint = "complaint"
)

// listmonkEvents are the event types a listmonk target takes: listmonk
// records bounces of subscribers, and bounced tells it the addresses it
// suppressed (a complaint that suppressed as type complaint). A complaint
// the policy did not act on, a sender-side alert (the recipient is not at
// fault) or a lifted suppression has no place in listmonk's bounce list.
var listmonkEvents = []storage.EventType{storage.EventSuppressionAdded}

// ListmonkType maps an event to listmonk's bounce type. A suppression
// caused by a complaint (reason complaint:<feedback type>) is a
// complaint; every other suppression is hard: bounced sends one only once
// it decided that the address must not be mailed again (a hard reason at
// once, a soft one when its score reached the threshold, or a person),
// and listmonk's hard action (by default: blocklist after one) does that;
// its soft type would count toward listmonk's own soft threshold (by
// default: do nothing), so bounced never sends soft. docs/webhooks.md has
// the table.
func ListmonkType(ev storage.OutboxEvent) string {
	if ev.Type == storage.EventComplaint || strings.HasPrefix(ev.Reason, "complaint:") {
		return ListmonkComplaint
	}
	return ListmonkHard
}

// listmonkBounce is the body of listmonk's bounce webhook.
type listmonkBounce struct {
	Email        string       `json:"email"`
	CampaignUUID string       `json:"campaign_uuid,omitempty"`
	Source       string       `json:"source"`
	Type         string       `json:"type"`
	Meta         listmonkMeta `json:"meta"`
}

// listmonkMeta is what listmonk keeps with the bounce (its meta column):
// bounced's own words for it.
type listmonkMeta struct {
	EventID       string  `json:"bounced_event_id"`
	Event         string  `json:"bounced_event"`
	Reason        string  `json:"reason"`
	By            string  `json:"by,omitempty"`
	Policy        string  `json:"policy,omitempty"`
	Mailbox       string  `json:"mailbox,omitempty"`
	StoredID      int64   `json:"stored_id,omitempty"`
	Status        string  `json:"status,omitempty"`
	Diagnostic    string  `json:"diagnostic,omitempty"`
	Score         float64 `json:"score,omitempty"`
	Note          string  `json:"note,omitempty"`
	OrigMessageID string  `json:"orig_message_id,omitempty"`
	At            string  `json:"at"`
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Campaign returns the listmonk campaign UUID that the returned original
// of the event's mail carried ("" when none, or not a UUID: listmonk
// would refuse the whole bounce for it).
func Campaign(ev storage.OutboxEvent) string {
	for k, v := range ev.OrigHeaders {
		if strings.EqualFold(k, CampaignHeader) {
			if v = strings.TrimSpace(v); uuidRE.MatchString(v) {
				return strings.ToLower(v)
			}
		}
	}
	return ""
}

// listmonkBody is the request body for ev.
func listmonkBody(ev storage.OutboxEvent) ([]byte, error) {
	b := listmonkBounce{
		Email:        ev.Address,
		CampaignUUID: Campaign(ev),
		Source:       "bounced",
		Type:         ListmonkType(ev),
		Meta: listmonkMeta{
			EventID: ev.ID, Event: string(ev.Type), Reason: ev.Reason, By: ev.By, Policy: ev.Policy, Mailbox: ev.Mailbox,
			StoredID: ev.StoredID, Status: ev.Status, Diagnostic: ev.Diagnostic, Score: ev.Score, Note: ev.Note,
			OrigMessageID: ev.OrigMessageID, At: ev.At.UTC().Format("2006-01-02T15:04:05.000Z"),
		},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

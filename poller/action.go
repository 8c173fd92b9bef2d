package poller

import (
	"fmt"
	"strings"

	"github.com/bounced/bounced/classify"
)

// Op is what happens to a mail on the server once its outcome is committed.
// The values are what the config says and what storage records as the
// disposal.
type Op string

const (
	OpMove   Op = "move"   // MOVE (or COPY + \Deleted + UID EXPUNGE) into Action.Folder
	OpFlag   Op = "flag"   // set \Seen and the keyword $BouncedProcessed, leave in place
	OpDelete Op = "delete" // \Deleted + UID EXPUNGE; opt-in
	OpLeave  Op = "leave"  // touch nothing
)

// Keyword marks mail the poller has processed and flagged.
const Keyword = "$BouncedProcessed"

// Action is the disposal for one kind of mail.
type Action struct {
	Op     Op
	Folder string // for OpMove only
}

// ParseAction reads the config form: "move:<folder>", "flag", "delete" or
// "leave".
func ParseAction(s string) (Action, error) {
	switch s {
	case string(OpFlag), string(OpDelete), string(OpLeave):
		return Action{Op: Op(s)}, nil
	}
	if f, ok := strings.CutPrefix(s, "move:"); ok {
		if strings.TrimSpace(f) == "" {
			return Action{}, fmt.Errorf("action %q: move needs a folder", s)
		}
		return Action{Op: OpMove, Folder: f}, nil
	}
	return Action{}, fmt.Errorf("action %q: want move:<folder>, flag, delete or leave", s)
}

// String returns the config form, which is also what storage records.
func (a Action) String() string {
	if a.Op == OpMove {
		return "move:" + a.Folder
	}
	return string(a.Op)
}

// DefaultUnverified is the disposal of mail held as unverified when the
// config names none: a folder of its own, for a person to look at.
var DefaultUnverified = Action{OpMove, "Bounces/Unverified"}

// DefaultActions returns the disposal of every kind when the config names
// none (issue 4).
func DefaultActions() map[classify.Kind]Action {
	return map[classify.Kind]Action{
		classify.KindBounce:    {OpMove, "Bounces/Processed"},
		classify.KindDelay:     {OpMove, "Bounces/Processed"},
		classify.KindComplaint: {OpMove, "Bounces/Complaints"},
		classify.KindReport:    {OpMove, "Bounces/Reports"},
		classify.KindAutoreply: {OpMove, "Bounces/Autoreplies"},
		classify.KindDelivered: {OpMove, "Bounces/Processed"},
		classify.KindUnknown:   {OpMove, "Bounces/Unrecognized"},
		classify.KindNotBounce: {Op: OpLeave},
	}
}

func (p *Poller) actionFor(kind classify.Kind, skipped, unverified bool) Action {
	if unverified {
		return p.unverified
	}
	if skipped {
		kind = classify.KindUnknown
	}
	a, ok := p.actions[kind]
	if !ok {
		return Action{Op: OpLeave}
	}
	return a
}

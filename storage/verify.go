package storage

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/verp"
)

// VerifyMode says whether a mailbox's bounces must prove that they answer
// mail that was sent (see package verp). The values are what the config
// says and what the verifications table stores.
type VerifyMode string

const (
	// VerifyOff checks nothing: every bounce counts (the default).
	VerifyOff VerifyMode = "off"
	// VerifyRecord checks and stores the result, and acts as VerifyOff,
	// so that an operator can see what enforce would hold before
	// switching it on.
	VerifyRecord VerifyMode = "record"
	// VerifyEnforce: an outcome whose recipient is not proven by a valid
	// token is stored as unverified and changes nothing.
	VerifyEnforce VerifyMode = "enforce"
)

// ParseVerifyMode reads a verify mode from the config ("" is off).
func ParseVerifyMode(s string) (VerifyMode, error) {
	switch m := VerifyMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return VerifyOff, nil
	case VerifyOff, VerifyRecord, VerifyEnforce:
		return m, nil
	}
	return "", fmt.Errorf("unknown verify mode %q (want off, record or enforce)", s)
}

// Verification is what a mail proves about the mail it answers: a valid
// token names the one recipient it was issued for. The zero value is
// VerifyOff.
type Verification struct {
	Mode      VerifyMode
	Recipient string // the recipient of the valid token ("" when none is valid)
	Failure   string // why no token is valid ("" when one is)
}

// Verification results, as the verifications table stores them.
const (
	Verified   = "verified"
	Unverified = "unverified"
)

func (ver Verification) checks() bool { return ver.Mode == VerifyRecord || ver.Mode == VerifyEnforce }

// proves reports whether the mail proves that mail to addr was sent.
func (ver Verification) proves(addr string) bool {
	return ver.checks() && ver.Failure == "" && ver.Recipient != "" && addr == ver.Recipient
}

// why says why the mail does not prove addr.
func (ver Verification) why(addr string) string {
	switch {
	case ver.Failure != "":
		return ver.Failure
	case addr == "":
		return "the report names no recipient"
	}
	return fmt.Sprintf("the token was issued for %s, not %s", ver.Recipient, addr)
}

// Verifier checks the tokens of one mailbox's bounces.
type Verifier struct {
	Mode   VerifyMode
	Keys   *verp.Keys    // required unless Mode is off
	MaxAge time.Duration // a token older than this is expired; 0: DefaultVerifyMaxAge
}

// DefaultVerifyMaxAge is how long after its send day a token verifies: a
// bounce comes within days (RFC 5321 §4.5.4.1 gives up after 4-5 days), a
// complaint through a feedback loop can take weeks.
const DefaultVerifyMaxAge = 45 * 24 * time.Hour

// Verify finds the token of a mail and checks it at now. The token is
// looked for in the address the mail came back to (Delivered-To, else
// X-Original-To, then To), then in the returned original's
// X-Bounced-Token header. It is pure: the caller passes the clock.
func (vf *Verifier) Verify(v *classify.Verdict, now time.Time) Verification {
	if vf == nil || !(Verification{Mode: vf.Mode}).checks() {
		return Verification{Mode: VerifyOff}
	}
	ver := Verification{Mode: vf.Mode}
	if vf.Keys == nil {
		ver.Failure = "no verification secret"
		return ver
	}
	maxAge := vf.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultVerifyMaxAge
	}
	var first error
	try := func(where, tok string) bool {
		if tok == "" {
			return false
		}
		rcpt, _, err := vf.Keys.Verify(tok, now, maxAge)
		if err != nil {
			if first == nil {
				first = fmt.Errorf("%s: %w", where, err)
			}
			return false
		}
		ver.Recipient = rcpt
		return true
	}
	for _, a := range strings.Split(v.DeliveredTo, ",") {
		if try("delivered-to", verp.Find(a)) {
			return ver
		}
	}
	for _, a := range strings.Split(v.To, ",") {
		if try("to", verp.Find(a)) {
			return ver
		}
	}
	if try("original "+strings.ToLower(verp.Header), v.Original.Headers[verp.Header]) {
		return ver
	}
	switch {
	case first == nil:
		ver.Failure = "no token: the mail came back to no signed address and the original has no " + verp.Header
	case errors.Is(first, verp.ErrExpired), errors.Is(first, verp.ErrBadSignature), errors.Is(first, verp.ErrMalformed):
		ver.Failure = strings.Replace(first.Error(), "verp: ", "", 1)
	default:
		ver.Failure = first.Error()
	}
	return ver
}

// NoProofNeeded is the stored result of a checked mail that named no
// recipient to act on (an auto-reply, a delay, ordinary mail); it is kept
// so that a reclassify that finds recipients decides with the proof the
// mail had.
const NoProofNeeded = "none"

// stored is the result as the verifications table stores it.
func (md mailDecision) stored() string {
	if md.result == "" {
		return NoProofNeeded
	}
	return md.result
}

// storedFailure is the failure as stored: the mail's, else the token's.
func (md mailDecision) storedFailure(ver Verification) string {
	if md.failure != "" {
		return md.failure
	}
	return ver.Failure
}

// setVerification replaces the stored verification of a mail (reclassify
// decides again with the new verdict).
func (w *writer) setVerification(msgID int64, ver Verification, md mailDecision) error {
	if _, err := w.exec(`DELETE FROM verifications WHERE message_id = ?`, msgID); err != nil {
		return fmt.Errorf("replacing the verification of message %d: %w", msgID, err)
	}
	if !ver.checks() {
		return nil
	}
	_, err := w.exec(`INSERT INTO verifications(message_id, mode, result, recipient, failure) VALUES (?,?,?,?,?)`,
		msgID, string(ver.Mode), md.stored(), ver.Recipient, md.storedFailure(ver))
	if err != nil {
		return fmt.Errorf("recording the verification of message %d: %w", msgID, err)
	}
	return nil
}

// verification reads what a stored mail proved: its mode and token
// recipient, and why it failed (the failure of the whole mail, which is
// the token's failure unless the token named another address).
func (w *writer) verification(msgID int64) (Verification, error) {
	row, err := w.queryRow(`SELECT mode, result, recipient, failure FROM verifications WHERE message_id = ?`, msgID)
	if err != nil {
		return Verification{}, err
	}
	var ver Verification
	var mode, result string
	switch err := row.Scan(&mode, &result, &ver.Recipient, &ver.Failure); {
	case errors.Is(err, sql.ErrNoRows):
		return Verification{Mode: VerifyOff}, nil
	case err != nil:
		return Verification{}, fmt.Errorf("reading the verification of message %d: %w", msgID, err)
	}
	ver.Mode = VerifyMode(mode)
	if ver.Recipient != "" {
		ver.Failure = "" // the token was valid; recipients it does not name fail on their own
	}
	return ver, nil
}

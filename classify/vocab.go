package classify

// Reasons lists the whole reason vocabulary, failures first.
var Reasons = []Reason{
	ReasonUserUnknown, ReasonHostUnknown, ReasonHasMoved, ReasonNotAccept, ReasonMailboxFull,
	ReasonSuspend, ReasonExpired, ReasonFiltered, ReasonRejected, ReasonBlocked, ReasonSpamDetected,
	ReasonPolicyViolation, ReasonAuthFailure, ReasonBadReputation, ReasonRequirePTR, ReasonRateLimited,
	ReasonEmailTooLarge, ReasonNetworkError, ReasonSystemError, ReasonSystemFull, ReasonMailerError,
	ReasonContentError, ReasonNotCompliantRFC, ReasonNoRelaying, ReasonSecurityError,
	ReasonVirusDetected, ReasonSyntaxError, ReasonFailedSTARTTLS, ReasonOnHold, ReasonSuppressed,
	ReasonUndefined, ReasonFeedback, ReasonVacation, ReasonDelivered,
}

// Known reports whether r is in the vocabulary.
func (r Reason) Known() bool {
	for _, k := range Reasons {
		if r == k {
			return true
		}
	}
	return false
}

// Known reports whether k is one of Kinds.
func (k Kind) Known() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

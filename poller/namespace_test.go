package poller

import "testing"

func TestNamespaceWire(t *testing.T) {
	dovecot := namespace{delim: '/'}
	courier := namespace{prefix: "INBOX.", delim: '.', others: []string{"#shared."}}
	cyrusUnix := namespace{prefix: "INBOX/", delim: '/', others: []string{"user/", "shared/"}}
	cyrusAlt := namespace{delim: '.', others: []string{"Other Users.", "Shared Folders."}}
	flat := namespace{}
	for _, tc := range []struct {
		ns       namespace
		name, in string
		want     string
	}{
		{dovecot, "dovecot", "Bounces/Processed", "Bounces/Processed"},
		{dovecot, "dovecot", "INBOX", "INBOX"},
		{dovecot, "dovecot", "Bounces.Processed", "Bounces.Processed"},
		{courier, "courier", "Bounces/Processed", "INBOX.Bounces.Processed"},
		{courier, "courier", "Bounces", "INBOX.Bounces"},
		{courier, "courier", "INBOX", "INBOX"},
		{courier, "courier", "inbox", "INBOX"},
		{courier, "courier", "INBOX.Bounces.Processed", "INBOX.Bounces.Processed"},
		{courier, "courier", "INBOX/Bounces", "INBOX.Bounces"},
		{courier, "courier", "#shared/team", "#shared.team"},
		{courier, "courier", "INBOXES/x", "INBOX.INBOXES.x"},
		{cyrusUnix, "cyrus unixhierarchysep", "Bounces/Processed", "INBOX/Bounces/Processed"},
		{cyrusUnix, "cyrus unixhierarchysep", "INBOX/Bounces", "INBOX/Bounces"},
		{cyrusUnix, "cyrus unixhierarchysep", "shared/x", "shared/x"},
		{cyrusAlt, "cyrus altnamespace", "Bounces/Processed", "Bounces.Processed"},
		{flat, "flat", "Bounces/Processed", "Bounces/Processed"},
	} {
		if got := tc.ns.wire(tc.in); got != tc.want {
			t.Errorf("%s: wire(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

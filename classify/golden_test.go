package classify

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/bounces")

// fixtures returns the paths of every testdata/bounces/<family>/<case>.eml.
func fixtures(t testing.TB) []string {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "bounces", "*", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no fixtures in ../testdata/bounces")
	}
	return paths
}

// TestGolden classifies every fixture and compares the verdict with its
// .golden.json; `go test ./classify -update` rewrites them.
func TestGolden(t *testing.T) {
	for _, path := range fixtures(t) {
		name := strings.TrimPrefix(filepath.ToSlash(path), "../testdata/bounces/")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			v, err := Message(raw)
			if err != nil {
				t.Fatalf("Message(%s): %v", name, err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			golden := strings.TrimSuffix(path, ".eml") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Message(%s) differs from %s:\ngot:\n%s\nwant:\n%s", name, golden, got, want)
			}
		})
	}
}

// noRecipient in TestFixtureKinds: the verdict names nobody (a challenge
// that does not say whom it protects, a report that names only contacts).
const noRecipient = "-"

// TestFixtureKinds pins the kind and first recipient of each fixture
// family, so a regenerated golden file cannot silently change the answer.
func TestFixtureKinds(t *testing.T) {
	tests := []struct {
		file    string
		kind    Kind
		addr    string
		status  string
		reason  Reason
		hard    bool
		feedack string
	}{
		{"rfc3464/user-unknown.eml", KindBounce, "alice@mail.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"rfc3464/global-utf8.eml", KindBounce, "山田@例え.jp", "5.1.1", ReasonUserUnknown, true, ""},
		{"postfix/mailbox-full.eml", KindBounce, "carol@isp.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"postfix/host-not-found-text.eml", KindBounce, "dave@no-such-domain.example", "", ReasonHostUnknown, true, ""},
		{"exim/rejected-after-rcpt.eml", KindBounce, "erin@corp.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"qmail/no-mailbox.eml", KindBounce, "frank@mail.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"sendmail/user-unknown.eml", KindBounce, "grace@example.jp", "5.1.1", ReasonUserUnknown, true, ""},
		{"exchange/old-exchange-text.eml", KindBounce, "heidi@corp.example", "5.1.1", "", true, ""},
		{"office365/recipnotfound.eml", KindBounce, "ivan@contoso.example", "5.1.10", "", true, ""},
		{"gmail/permanent-failure.eml", KindBounce, "judy@gmail.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"arf/abuse.eml", KindComplaint, "kim@isp.example", "", ReasonFeedback, false, "abuse"},
		{"arf/auth-failure-report.eml", KindReport, "leo@isp.example", "", ReasonFeedback, false, "auth-failure"},
		{"autoreply/vacation.eml", KindAutoreply, "", "", ReasonVacation, false, ""},
		{"autoreply/abwesenheit.eml", KindAutoreply, "", "", ReasonVacation, false, ""},
		{"notbounce/newsletter-reply.eml", KindNotBounce, "", "", "", false, ""},
		{"notbounce/human-mentions-bounce-words.eml", KindNotBounce, "", "", "", false, ""},
		{"delay/postfix-delayed.eml", KindDelay, "quinn@slow.example", "4.4.1", "", false, ""},
		{"delivered/relayed.eml", KindDelivered, "rita@relay.example", "2.0.0", ReasonDelivered, false, ""},
		{"broken/no-closing-boundary.eml", KindBounce, "tina@example.net", "5.1.1", ReasonUserUnknown, true, ""},
		{"broken/utf7-body.eml", KindBounce, "uma@old.example", "5.1.1", "", false, ""},
		{"broken/mbox-from-line.eml", KindBounce, "victor@mail.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"broken/cr-line-ends.eml", KindBounce, "wendy@corp.example", "", "", false, ""},
		{"japanese/iso-2022-jp.eml", KindBounce, "xavier@docomo.example.jp", "", "", false, ""},
		{"postfix/help-address.eml", KindBounce, "zoe@user.isp.example", "", ReasonUserUnknown, true, ""},
		{"arf/provider-complaint.eml", KindComplaint, "", "", "", false, ""},
		{"office365/html-only.eml", KindBounce, "bea@contoso.example", "5.1.10", ReasonUserUnknown, true, ""},
		{"yahoo/mailbox-not-found.eml", KindBounce, "cleo@yahoo.example", "", ReasonUserUnknown, true, ""},
		{"gmail/address-not-found.eml", KindBounce, "dan@gmail.example", "", ReasonUserUnknown, true, ""},
		{"amazonses/bounce-json.eml", KindBounce, "yara@example.org", "5.1.1", ReasonUserUnknown, true, ""},
		{"dragonfly/rcpt-rejected.eml", KindBounce, "nina@mail.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"opensmtpd/mailbox-quota.eml", KindBounce, "omar@fastmail.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"googlegroups/no-such-account.eml", KindBounce, "shop-owners@googlegroups.com", "5.1.1", ReasonUserUnknown, true, ""},
		{"googlegroups/not-a-member.eml", KindBounce, "board@googlegroups.com", "", ReasonRejected, false, ""},
		{"v5sendmail/transcript.eml", KindBounce, "paul@nowhere.example", "5.1.2", ReasonHostUnknown, true, ""},
		{"notes/failure-reasons.eml", KindBounce, "ulla@notes.corp.example", "", ReasonUserUnknown, true, ""},
		{"amazonses/quoted-reply.eml", KindBounce, "sara@mail.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"sendmail/pipe-exit-status.eml", KindBounce, "tickets@shop.example", "5.3.0", ReasonMailerError, false, ""},
		{"multi/postfix-two-recipients.eml", KindBounce, "uwe@isp.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"courier/mailbox-full.eml", KindBounce, "wim@host.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"exchange/exchange2007-admin-info.eml", KindBounce, "xena@corp.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"messagingserver/over-quota.eml", KindBounce, "yuki@ims.example.jp", "5.2.2", ReasonMailboxFull, false, ""},
		{"smail/unknown-host.eml", KindBounce, "bernd@gone.oldnet.example", "5.1.2", ReasonHostUnknown, true, ""},
		{"smail/address-next-line.eml", KindBounce, "clara.weiss@provider.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"rfc3464/prose-names-reason.eml", KindBounce, "mika.tanaka@carrier.example", "5.0.0", ReasonMailboxFull, false, ""},
		{"rfc3464/moved-status-user-unknown.eml", KindBounce, "otto.berg@oldmail.example", "5.1.6", ReasonUserUnknown, true, ""},
		{"autoreply/challenge-confirm-person.eml", KindAutoreply, "kim@isp.example", "", ReasonVacation, false, ""},
		{"autoreply/challenge-guest-list.eml", KindAutoreply, "", "", ReasonVacation, false, ""},
		{"aol/screen-name-not-accepting.eml", KindBounce, "janedoe1972@aol.com", "", ReasonFiltered, false, ""},
		{"aol/screen-name-user-not-found.eml", KindBounce, "bobsmith77@aol.com", "", ReasonFiltered, false, ""},
		{"aol/screen-name-not-from-aol.eml", KindBounce, "bobsmith77@isp.example", "", "", false, ""},
		{"postfix/local-expanded-two.eml", KindBounce, "bob@corp.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"sendmail/host-unknown-mx-dsn-less.eml", KindBounce, "carl@typo-domain.example", "5.1.2", ReasonHostUnknown, true, ""},
		{"mimecast/anti-spoofing.eml", KindBounce, "nora@corp.example", "", ReasonPolicyViolation, false, ""},
		{"notes/domino-no-route-two.eml", KindBounce, "anke@oldcorp.example", "5.1.2", ReasonHostUnknown, true, ""},
		{"autoreply/challenge-approved-senders.eml", KindAutoreply, "jane@corp.example", "", ReasonVacation, false, ""},
		{"autoreply/challenge-bounce-words.eml", KindAutoreply, "petra@corp.example", "", ReasonVacation, false, ""},
		{"delay/exchange-delay-text.eml", KindDelay, "jane@corp.example", "4.4.7", ReasonExpired, false, ""},
		{"delay/sendmail-warning-prose-crlf.eml", KindDelay, "hugo@slow.example", "4.4.7", ReasonExpired, false, ""},
		{"delay/warning-subject-retrying.eml", KindDelay, "max@full.example", "4.2.2", ReasonMailboxFull, false, ""},
		{"exchange/exchange55-rfc822-two-recipients.eml", KindBounce, "jane@corp.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"exchange/exchange2000-quoted-two-reasons.eml", KindBounce, "jane@corp.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"exchange/exchange2003-german-qp-crlf.eml", KindBounce, "jane@corp.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"groupwise/full-and-unknown.eml", KindBounce, "jane@corp.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"groupwise/host-not-found.eml", KindBounce, "gerd@closed-company.example", "5.1.2", ReasonHostUnknown, true, ""},
		{"mimecast/quoted-remote-reply.eml", KindBounce, "kurt@corp.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"notes/domino-german-base64.eml", KindBounce, "jana.kurz@corp.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"office365/access-denied-as.eml", KindBounce, "omar@tailspin.example", "5.4.1", ReasonUserUnknown, true, ""},
		{"office365/banned-ip-headers.eml", KindBounce, "lena@fabrikam.example", "5.7.606", ReasonBlocked, false, ""},
		{"office365/mailbox-full-base64.eml", KindBounce, "jane@contoso.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"postfix/delay-prose-warning.eml", KindDelay, "jane@slow.example", "4.4.7", ReasonExpired, false, ""},
		{"qmail/three-recipients.eml", KindBounce, "jane@corp.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"qmail/vpopmail-over-quota.eml", KindBounce, "wim@host.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"qmail/connect-expired.eml", KindBounce, "ines@unreachable.example", "4.4.1", ReasonNetworkError, false, ""},
		{"sendmail/host-unknown-old-two.eml", KindBounce, "anna@nowhere.example", "5.1.2", ReasonHostUnknown, true, ""},
		{"sendmail/no-message-collected-client.eml", KindBounce, "jane@corp.example", "4.4.2", ReasonNetworkError, false, ""},
		{"sendmail/user-unknown-over-weak-cue.eml", KindBounce, "tom@corp.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"simple/one-line-deferred-temporary.eml", KindBounce, "jane@corp.example", "4.4.0", ReasonNetworkError, false, ""},
		{"simple/one-line-host-unknown.eml", KindBounce, "bob@oldcorp.example", "5.1.2", ReasonHostUnknown, true, ""},
		{"simple/one-line-no-such-user-code.eml", KindBounce, "jane@corp.example", "", ReasonFiltered, false, ""},
		{"simple/one-line-quota-permanent.eml", KindBounce, "jane@corp.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"spam/dnsbl-transcript-delist.eml", KindBounce, "sven@corp.example", "5.7.1", ReasonBlocked, false, ""},
		{"spam/filter-forward-false-positive.eml", KindBounce, "rita@corp.example", "5.7.1", ReasonSpamDetected, false, ""},
		{"yahoo/legacy-disabled.eml", KindBounce, "jane.doe@yahoo.example", "5.2.1", ReasonSuspend, false, ""},
		{"yahoo/legacy-over-quota-two.eml", KindBounce, "jane.doe@yahoo.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"spam/only-contacts-in-prose.eml", KindBounce, "ida@corp.example", "5.7.0", ReasonBlocked, false, ""},
		{"exchange/display-name-only.eml", KindBounce, "jane.doe@corp.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"office365/french-non-remis.eml", KindBounce, "louise@exemple-entreprise.example", "5.1.10", ReasonUserUnknown, true, ""},
		{"simple/one-line-german-postfach-voll.eml", KindBounce, "anna.schmidt@firma.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"simple/one-line-suspended-user-unknown.eml", KindBounce, "jane@corp.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"amazonses/email-forwarding-suppression-list.eml", KindBounce, "old.customer@isp.example", "5.1.1", ReasonSuppressed, false, ""},
		{"amazonses/email-forwarding-user-unknown.eml", KindBounce, "lucas@partner-br.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"autoreply/challenge-service-nobody.eml", KindAutoreply, noRecipient, "", "", false, ""},
		{"autoreply/challenge-service-original-to.eml", KindAutoreply, "jane.roe@client.example", "", ReasonVacation, false, ""},
		{"autoreply/challenge-service-you-sent.eml", KindAutoreply, "tom.brown@smallfirm.example", "", ReasonVacation, false, ""},
		{"autoreply/ooo-italian-precedence.eml", KindAutoreply, "marco.rossi@azienda.example", "", ReasonVacation, false, ""},
		{"autoreply/vacation-french-auto-submitted.eml", KindAutoreply, "amelie.martin@entreprise.example", "", ReasonVacation, false, ""},
		{"autoreply/vacation-program-x-autoreply.eml", KindAutoreply, "hans.meyer@firma.example", "", ReasonVacation, false, ""},
		{"autoreply/vacation-spanish-no-headers.eml", KindAutoreply, "lucia.garcia@empresa.example", "", ReasonVacation, false, ""},
		{"courier/user-unknown-dsn.eml", KindBounce, "walter@isp.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"delivered/dsn-delivered-notify-success.eml", KindDelivered, "jane.roe@client.example", "2.0.0", ReasonDelivered, false, ""},
		{"delivered/dsn-expanded-alias.eml", KindDelivered, "sales@client.example", "2.0.0", ReasonDelivered, false, ""},
		{"exchange/exchange2003-account-missing-display-name.eml", KindBounce, "karl.weber@corp.example", "5.0.0", ReasonFiltered, false, ""},
		{"exchange/exchange2003-no-reason.eml", KindBounce, "karl.weber@corp.example", "5.0.0", ReasonUndefined, false, ""},
		{"exchange/exchange2016-text-only-restricted.eml", KindBounce, "board@corp.example", "5.7.1", ReasonPolicyViolation, false, ""},
		{"exchange/exchange2019-mailbox-full.eml", KindBounce, "paula.schmidt@corp.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"exim/exim3-remote-mailer.eml", KindBounce, "otto@partner.example", "5.7.1", ReasonNoRelaying, false, ""},
		{"exim/local-quota-exceeded.eml", KindBounce, "anna@corp.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"exim/message-too-large.eml", KindBounce, "lena@bigcorp.example", "5.3.4", ReasonEmailTooLarge, false, ""},
		{"exim/mx-non-existent-hosts.eml", KindBounce, "rita@broken-mx.example", "5.1.2", ReasonHostUnknown, true, ""},
		{"exim/retry-timeout-exceeded.eml", KindBounce, "paul@slowhost.example", "5.0.0", ReasonExpired, false, ""},
		{"exim/router-unknown-user-two.eml", KindBounce, "j.smith@corp.example", "5.0.0", ReasonFiltered, false, ""},
		{"exim/unrouteable-address.eml", KindBounce, "sam@typo-domian.example", "5.1.2", ReasonHostUnknown, true, ""},
		{"gmail/dmarc-policy-5-7-26.eml", KindBounce, "dev.patel@gmail.example", "5.7.26", ReasonAuthFailure, false, ""},
		{"gmail/over-quota-452-delay.eml", KindDelay, "maria.silva@gmail.example", "4.2.2", ReasonMailboxFull, false, ""},
		{"gmail/over-quota-552.eml", KindBounce, "maria.silva@gmail.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"gmail/ptr-missing-5-7-25.eml", KindBounce, "dev.patel@gmail.example", "5.7.25", ReasonRequirePTR, false, ""},
		{"gmail/unsolicited-5-7-1.eml", KindBounce, "dev.patel@gmail.example", "5.7.1", ReasonSpamDetected, false, ""},
		{"gmail/workspace-no-such-account.eml", KindBounce, "jamie.lee@workspace-customer.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"gmx/german-mailbox-full.eml", KindBounce, "klaus.becker@web.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"gmx/german-only-unbekannt.eml", KindBounce, "petra.vogel@firmenmail.example", "5.0.0", ReasonFiltered, false, ""},
		{"gmx/german-user-unknown-smtp.eml", KindBounce, "monika.wolf@mailprovider.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"icloud/cs01-local-policy.eml", KindBounce, "kai.ng@icloud.example", "5.7.1", ReasonPolicyViolation, false, ""},
		{"icloud/over-quota.eml", KindBounce, "kai.ng@icloud.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"mailru/russian-utf8-base64-mailbox-full.eml", KindBounce, "ivan.petrov@pochta.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"mdaemon/permanent-failure.eml", KindBounce, "greta@partner-co.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"messagelabs/spf-authentication-fail.eml", KindBounce, "ian@bank.example", "5.7.1", ReasonAuthFailure, false, ""},
		{"notbounce/mdn-deleted-unread.eml", KindNotBounce, "", "", "", false, ""},
		{"notbounce/mdn-read-receipt.eml", KindNotBounce, "", "", "", false, ""},
		{"notes/domino-hop-count.eml", KindBounce, "dieter.lang@notes.corp.example", "5.4.0", ReasonNetworkError, false, ""},
		{"notes/domino-mail-file-full.eml", KindBounce, "eva.ritter@notes.corp.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"office365/outlook-mailbox-unavailable.eml", KindBounce, "chris.king@hotmail.example", "5.5.0", ReasonUserUnknown, true, ""},
		{"office365/outlook-s3140-temp.eml", KindDelay, "chris.king@outlook.example", "4.7.650", ReasonBadReputation, false, ""},
		{"office365/outlook-s3150-block-list.eml", KindBounce, "chris.king@outlook.example", "5.7.1", ReasonBlocked, false, ""},
		{"postfix/greylisted-delay.eml", KindDelay, "ops@partner.example", "4.2.0", ReasonSpamDetected, false, ""},
		{"postfix/hop-count-exceeded.eml", KindBounce, "info@loopy.example", "5.4.0", ReasonNetworkError, false, ""},
		{"postfix/mail-loop-5-4-6.eml", KindBounce, "info@loopy.example", "5.4.6", ReasonNetworkError, false, ""},
		{"postfix/relay-access-denied.eml", KindBounce, "ops@partner.example", "5.7.1", ReasonNoRelaying, false, ""},
		{"postfix/too-many-recipients.eml", KindDelay, "ops@partner.example", "4.5.3", ReasonRateLimited, false, ""},
		{"protonmail/address-does-not-exist.eml", KindBounce, "anon.user@proton.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"spam/amavis-spam-rejected.eml", KindBounce, "eva@corp.example", "5.7.0", ReasonSpamDetected, false, ""},
		{"spam/barracuda-rbl.eml", KindBounce, "eva@corp.example", "5.0.0", ReasonBlocked, false, ""},
		{"spam/barracuda-reputation.eml", KindBounce, "eva@corp.example", "5.0.0", ReasonBlocked, false, ""},
		{"spam/gateway-message-filtering.eml", KindBounce, "lin.wei@trading.example", "5.7.0", ReasonPolicyViolation, false, ""},
		{"spam/only-contacts-no-original.eml", KindUnknown, noRecipient, "", "", false, ""},
		{"spam/proofpoint-blocked-see.eml", KindBounce, "eva@corp.example", "5.7.0", ReasonBlocked, false, ""},
		{"spam/spamassassin-content-rejected.eml", KindBounce, "eva@corp.example", "5.7.1", ReasonSpamDetected, false, ""},
		{"spam/spf-fail.eml", KindBounce, "eva@corp.example", "5.7.23", ReasonAuthFailure, false, ""},
		{"yahoo/modern-dd-no-account.eml", KindBounce, "jo.baker@yahoo.example", "5.0.0", ReasonUserUnknown, true, ""},
		{"yahoo/tss04-deferred.eml", KindDelay, "jo.baker@yahoo.example", "4.7.0", ReasonBadReputation, false, ""},
		{"yandex/russian-koi8r-no-such-user.eml", KindBounce, "olga.smirnova@yandex-mail.example", "5.0.0", ReasonFiltered, false, ""},
		{"zoho/invalid-address.eml", KindBounce, "rahul.mehta@partner-in.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"zoho/mailbox-full-two.eml", KindBounce, "anita@partner-in.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"arf/jmrp-no-rcpt-field.eml", KindComplaint, "sam.t@hotmail.example", "", ReasonFeedback, false, "abuse"},
		{"arf/yahoo-fbl-abuse.eml", KindComplaint, "zoe.k@yahoo.example", "", ReasonFeedback, false, "abuse"},
		{"autoreply/dutch-auto-submitted.eml", KindAutoreply, "joost@bedrijf.example", "", ReasonVacation, false, ""},
		{"autoreply/left-company-undeliverable-words.eml", KindAutoreply, "k.old@corp.example", "", ReasonVacation, false, ""},
		{"communigate/account-full.eml", KindBounce, "rosa@provider.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"communigate/smtp-module-unknown.eml", KindBounce, "yves@remote.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"delay/exchange-dsn-delay.eml", KindDelay, "tina@partner.example", "4.4.7", ReasonExpired, false, ""},
		{"exim/three-mixed.eml", KindBounce, "ana@corp.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"imail/unknown-user-original-follows.eml", KindBounce, "doris@smallisp.example", "5.1.1", ReasonUserUnknown, true, ""},
		{"office365/hop-count-5-4-14.eml", KindBounce, "ravi@contoso.example", "5.4.14", ReasonNetworkError, false, ""},
		{"postfix/maildrop-over-quota-x-unix.eml", KindBounce, "nils@isp.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"simple/queue-period-expired.eml", KindBounce, "fritz@gone.example", "5.4.7", ReasonExpired, false, ""},
		{"exim/reason-after-blank-line.eml", KindBounce, "jane@corp.example", "5.2.2", ReasonMailboxFull, false, ""},
		{"yahoo/legacy-remote-host-said.eml", KindBounce, "pat.li@partner.example", "5.7.1", ReasonSuspend, false, ""},
	}
	for _, tt := range tests {
		raw, err := os.ReadFile(filepath.Join("..", "testdata", "bounces", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		v, err := Message(raw)
		if err != nil {
			t.Fatalf("Message(%s): %v", tt.file, err)
		}
		if v.Kind != tt.kind {
			t.Errorf("Message(%s): kind = %q, want %q", tt.file, v.Kind, tt.kind)
		}
		if v.FeedbackType != tt.feedack {
			t.Errorf("Message(%s): feedback_type = %q, want %q", tt.file, v.FeedbackType, tt.feedack)
		}
		if tt.kind == KindNotBounce || tt.addr == noRecipient {
			if len(v.Recipients) != 0 {
				t.Errorf("Message(%s): %d recipients, want none", tt.file, len(v.Recipients))
			}
			continue
		}
		if len(v.Recipients) == 0 {
			t.Errorf("Message(%s): no recipients", tt.file)
			continue
		}
		r := v.Recipients[0]
		if tt.addr != "" && r.Address != tt.addr {
			t.Errorf("Message(%s): address = %q, want %q", tt.file, r.Address, tt.addr)
		}
		if tt.status != "" && r.Status != tt.status {
			t.Errorf("Message(%s): status = %q, want %q", tt.file, r.Status, tt.status)
		}
		if tt.reason != "" && r.Reason != tt.reason {
			t.Errorf("Message(%s): reason = %q, want %q", tt.file, r.Reason, tt.reason)
		}
		if tt.reason != "" && r.Hard != tt.hard {
			t.Errorf("Message(%s): hard = %v, want %v", tt.file, r.Hard, tt.hard)
		}
	}
}

// TestOriginal checks that the returned original's identity and X-
// headers are read from message/rfc822, text/rfc822-headers and quoted
// text alike.
func TestOriginal(t *testing.T) {
	for _, file := range []string{"postfix/mailbox-full.eml", "rfc3464/user-unknown.eml", "exim/rejected-after-rcpt.eml", "qmail/no-mailbox.eml"} {
		raw, err := os.ReadFile(filepath.Join("..", "testdata", "bounces", file))
		if err != nil {
			t.Fatal(err)
		}
		v, err := Message(raw)
		if err != nil {
			t.Fatal(err)
		}
		if v.Original.MessageID != "20260302091402.77ab@shop.example" {
			t.Errorf("Message(%s): original message_id = %q", file, v.Original.MessageID)
		}
		if v.Original.Headers["X-Campaign-Id"] != "spring-2026" {
			t.Errorf("Message(%s): original X-Campaign-Id = %q, want spring-2026", file, v.Original.Headers["X-Campaign-Id"])
		}
		if v.Original.Subject != "March offers" {
			t.Errorf("Message(%s): original subject = %q", file, v.Original.Subject)
		}
	}
}

func TestNotMessage(t *testing.T) {
	for _, in := range []string{"", " ", "\n\n", "abc", "\x00\x01\x02\x03\x04", "no header here at all"} {
		if _, err := Message([]byte(in)); err != ErrNotMessage {
			t.Errorf("Message(%q): err = %v, want ErrNotMessage", in, err)
		}
	}
}

// FuzzMessage checks the invariants on any input: no panic, a known
// kind, an address for every failed recipient, bounded time.
func FuzzMessage(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "bounces", "*", "*.eml"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: multipart/mixed; boundary=x\n\n--x\n"))
	f.Add([]byte("From: a\nContent-Type: text/plain; charset=utf-7\n\n+AGEAYgBj-"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		start := time.Now()
		v, err := Message(raw)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Message took %v on %d bytes", d, len(raw))
		}
		if err != nil {
			if err != ErrNotMessage {
				t.Fatalf("Message: unexpected error %v", err)
			}
			return
		}
		if !v.Kind.Known() {
			t.Fatalf("Message: unknown kind %q", v.Kind)
		}
		for _, r := range v.Recipients {
			if r.Action == ActionFailed && r.Address == "" {
				t.Fatalf("Message: failed recipient without address: %+v", r)
			}
			if r.Address != "" && !strings.EqualFold(cleanAddr(r.Address), r.Address) {
				t.Fatalf("Message: recipient %q is not one whole address (cleanAddr gives %q)", r.Address, cleanAddr(r.Address))
			}
			if r.Reason != "" && !r.Reason.Known() {
				t.Fatalf("Message: reason %q outside the vocabulary", r.Reason)
			}
			if (r.Action == ActionFailed || r.Action == ActionDelayed) && r.Reason.SenderSide() && r.Hard {
				t.Fatalf("Message: sender-side reason %q marked hard", r.Reason)
			}
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("Message: verdict does not marshal: %v", err)
		}
	})
}

func TestAutoreplyRule(t *testing.T) {
	tests := []struct {
		hdr  string
		want bool
	}{
		{"From: a@b.example\nSubject: Vacation offers for March\n", false},
		{"From: a@b.example\nReturn-Path: <>\nSubject: On vacation\n", true},
		{"From: a@b.example\nSubject: Out of Office: your mail\n", true},
		{"From: a@b.example\nAuto-Submitted: auto-replied\nSubject: hi\n", true},
		{"From: a@b.example\nAuto-Submitted: auto-generated\nSubject: report\n", false},
		{"From: a@b.example\nX-Autoreply: yes\nSubject: x\n", true},
	}
	for _, tt := range tests {
		m, err := parse([]byte(tt.hdr + "\nbody\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := autoreplyRule(m) != ""; got != tt.want {
			t.Errorf("autoreplyRule(%q) = %v, want %v", tt.hdr, got, tt.want)
		}
	}
}

// TestMessageConcurrent classifies the fixtures from several goroutines:
// the package keeps no mutable state, which -race checks.
func TestMessageConcurrent(t *testing.T) {
	var mails [][]byte
	for _, p := range fixtures(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		mails = append(mails, b)
	}
	want := make([]Kind, len(mails))
	for i, m := range mails {
		v, _ := Message(m)
		want[i] = v.Kind
	}
	errs := make(chan string, 4*len(mails))
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i, m := range mails {
				if v, _ := Message(m); v.Kind != want[i] {
					errs <- fmt.Sprintf("mail %d: kind %q, want %q", i, v.Kind, want[i])
				}
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestLineEnds: one bounce stored with LF, CRLF, lone CR and CR CR LF
// (how Courier serves a maildir file stored with CRLF) has one verdict.
func TestLineEnds(t *testing.T) {
	dir := filepath.Join("..", "testdata", "bounces", "lineends")
	verdict := func(name string) string {
		raw, err := os.ReadFile(filepath.Join(dir, name+".eml"))
		if err != nil {
			t.Fatal(err)
		}
		if name != "lf" && !bytes.Contains(raw, []byte(map[string]string{"crlf": "\r\n", "cr": "\r", "crcrlf": "\r\r\n"}[name])) {
			t.Fatalf("%s.eml does not have its line ends", name)
		}
		v, err := Message(raw)
		if err != nil {
			t.Fatalf("Message(%s.eml): %v", name, err)
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	want := verdict("lf")
	if !strings.Contains(want, `"subject":"Undelivered Mail Returned to Sender"`) || !strings.Contains(want, `"message_id":"offer-2026-12@shop.example"`) {
		t.Fatalf("Message(lf.eml): header or original not read: %s", want)
	}
	for _, name := range []string{"crlf", "cr", "crcrlf"} {
		if got := verdict(name); got != want {
			t.Errorf("Message(%s.eml) = %s\nwant (as lf.eml) %s", name, got, want)
		}
	}
}

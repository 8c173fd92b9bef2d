package poller

import "strings"

// namespace is what the poller knows of a server's namespaces (RFC 2342):
// the personal one, where the folders of the config go, and the prefixes
// of the others.
type namespace struct {
	prefix string   // of the personal namespace: "" (Dovecot), "INBOX." (Courier, Cyrus)
	delim  rune     // hierarchy delimiter; 0 for a flat server
	others []string // prefixes of other users' and shared namespaces
}

// wire maps a folder name of the config, with "/" between levels, to the
// server's name: the server's delimiter between levels, inside the
// personal namespace. "Bounces/Processed" is "INBOX.Bounces.Processed" on
// Courier and stays itself on Dovecot. INBOX, and a name that is already
// in a namespace ("INBOX.Bounces" or "INBOX/Bounces" on Courier, a shared
// folder), go through unchanged apart from the delimiter.
func (ns namespace) wire(folder string) string {
	if strings.EqualFold(folder, "INBOX") {
		return "INBOX"
	}
	name := folder
	if ns.delim != 0 && ns.delim != '/' {
		name = strings.ReplaceAll(name, "/", string(ns.delim))
	}
	if ns.prefix == "" || hasPrefixFold(name, ns.prefix) || strings.EqualFold(name+string(ns.delim), ns.prefix) {
		return name
	}
	for _, o := range ns.others {
		if strings.HasPrefix(name, o) {
			return name
		}
	}
	return ns.prefix + name
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case (INBOX is
// case-insensitive, RFC 3501 §5.1).
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

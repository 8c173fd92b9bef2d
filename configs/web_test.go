package configs

import (
	"strings"
	"testing"
)

func TestWeb(t *testing.T) {
	for _, tc := range []struct{ toml, err string }{
		{"[web]\ntoken_env = \"T\"\n", ""},
		{"[web]\nuser = \"ops\"\npassword_file = \"/run/p\"\n", ""},
		{"[web]\ntoken = \"inline\"\n", "web.token: inline secrets are not allowed"},
		{"[web]\npassword = \"inline\"\n", "web.password: inline secrets are not allowed"},
		{"[web]\nuser = \"ops\"\n", "web: user and password_env (or password_file): set both or neither"},
		{"[web]\npassword_env = \"P\"\n", "web: user and password_env (or password_file): set both or neither"},
		{"[web]\ntoken_env = \"T\"\ntoken_file = \"/t\"\n", "web: token_env and token_file: set one"},
	} {
		_, err := Parse([]byte(tc.toml))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("Parse(%q): %v", tc.toml, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Parse(%q): %v, want %q", tc.toml, err, tc.err)
		}
	}
	t.Setenv("BOUNCED_TEST_TOKEN", "tok")
	tok, pw, err := Web{TokenEnv: "BOUNCED_TEST_TOKEN"}.Credentials()
	if tok != "tok" || pw != "" || err != nil {
		t.Errorf("Credentials() = %q, %q, %v", tok, pw, err)
	}
	for listen, public := range map[string]bool{"127.0.0.1:9464": false, "[::1]:9464": false, "localhost:9464": false, "0.0.0.0:9464": true, "192.0.2.1:80": true} {
		if got := (Config{Listen: listen}).Public(); got != public {
			t.Errorf("Config{Listen: %q}.Public() = %v", listen, got)
		}
	}
}

package configs

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/bounced/bounced/poller"
)

// Web is [web]: who may see the web report (package web) that `bounced
// run` serves on listen beside /metrics. On a loopback address anyone
// who can connect may; on any other (listen_public) a request needs the
// token (a Bearer header, or the password of basic auth with any user
// name) or the user and password, and without either the report refuses
// every request. The secrets come from the environment or a file, never
// from the config.
type Web struct {
	TokenEnv     string `toml:"token_env"`
	TokenFile    string `toml:"token_file"`
	User         string `toml:"user"`
	PasswordEnv  string `toml:"password_env"`
	PasswordFile string `toml:"password_file"`
}

// Public reports whether the listen address is not a loopback address,
// so the report requires credentials.
func (c Config) Public() bool {
	host, _, err := net.SplitHostPort(c.Listen)
	return err == nil && !poller.IsLoopback(host)
}

// Credentials reads the token and the password ("" for one not set).
func (w Web) Credentials() (token, password string, err error) {
	token, err = secret("web: token", w.TokenEnv, w.TokenFile)
	if err != nil {
		return "", "", err
	}
	password, err = secret("web: password", w.PasswordEnv, w.PasswordFile)
	return token, password, err
}

func (w Web) validate() []error {
	var errs []error
	if w.TokenEnv != "" && w.TokenFile != "" {
		errs = append(errs, errors.New("web: token_env and token_file: set one"))
	}
	if w.PasswordEnv != "" && w.PasswordFile != "" {
		errs = append(errs, errors.New("web: password_env and password_file: set one"))
	}
	if (w.User != "") != (w.PasswordEnv != "" || w.PasswordFile != "") {
		errs = append(errs, errors.New("web: user and password_env (or password_file): set both or neither"))
	}
	return errs
}

// secret reads a secret from an environment variable or a file (its
// first line ends are trimmed); "" when neither is set.
func secret(what, env, file string) (string, error) {
	switch {
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fmt.Errorf("%s_env: environment variable %s is not set", what, env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_file: %w", what, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("%s_file %s is empty", what, file)
		}
		return v, nil
	}
	return "", nil
}

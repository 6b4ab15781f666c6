package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/streamwatch/streamwatch/ingest"
)

// natsFlags are the flags by which every command that talks to NATS reaches
// it: the server URL and the credential and TLS files, named as the nats CLI
// names them. A flag left empty falls back to the nats CLI's environment
// variable (NATS_URL, NATS_CREDS, …).
type natsFlags struct {
	url   string
	creds string
	nkey  string
	ca    string
	cert  string
	key   string
}

// natsFile is one file option: its flag, its environment variable and where
// its value is kept.
type natsFile struct {
	flag, env string
	value     *string
}

func (n *natsFlags) files() []natsFile {
	return []natsFile{
		{"nats-creds", "NATS_CREDS", &n.creds},
		{"nats-nkey", "NATS_NKEY", &n.nkey},
		{"nats-ca", "NATS_CA", &n.ca},
		{"nats-cert", "NATS_CERT", &n.cert},
		{"nats-key", "NATS_KEY", &n.key},
	}
}

func (n *natsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.url, "nats", "", "NATS server URL (default $NATS_URL)")
	fs.StringVar(&n.creds, "nats-creds", "", "NATS user credentials file: JWT and nkey seed (default $NATS_CREDS)")
	fs.StringVar(&n.nkey, "nats-nkey", "", "NATS nkey user seed file (default $NATS_NKEY)")
	fs.StringVar(&n.ca, "nats-ca", "", "PEM file of the CAs that sign the NATS server's certificate; default $NATS_CA, else the system's")
	fs.StringVar(&n.cert, "nats-cert", "", "PEM client certificate for mutual TLS with NATS, with --nats-key (default $NATS_CERT)")
	fs.StringVar(&n.key, "nats-key", "", "PEM private key of --nats-cert (default $NATS_KEY)")
}

// serverURL is --nats, else $NATS_URL; "" when neither is set.
func (n *natsFlags) serverURL() string {
	if n.url != "" {
		return n.url
	}
	return os.Getenv("NATS_URL")
}

// fileFlagGiven returns the name of a credential or TLS flag that was set
// (on the command line, in STREAMWATCH_* or the config file), or "".
func (n *natsFlags) fileFlagGiven() string {
	for _, f := range n.files() {
		if *f.value != "" {
			return f.flag
		}
	}
	return ""
}

// natsSetting is a resolved file option: the file and what named it (the
// flag or the environment variable), for errors.
type natsSetting struct {
	file, from string
}

func (s natsSetting) set() bool { return s.file != "" }

// fileErr is the one-line error for a file that cannot be used; it names the
// flag (or variable) and the file, never the file's content.
func (s natsSetting) fileErr(err error) error {
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		err = pe.Err // the path is said once, below
	}
	return fmt.Errorf("%s %s: %w", s.from, s.file, err)
}

// read returns the content of the file.
func (s natsSetting) read() ([]byte, error) {
	data, err := os.ReadFile(s.file)
	if err != nil {
		return nil, s.fileErr(err)
	}
	return data, nil
}

// resolve returns each file option, flag over environment.
func (n *natsFlags) resolve() map[string]natsSetting {
	m := map[string]natsSetting{}
	for _, f := range n.files() {
		switch {
		case *f.value != "":
			m[f.flag] = natsSetting{*f.value, "--" + f.flag}
		case os.Getenv(f.env) != "":
			m[f.flag] = natsSetting{os.Getenv(f.env), f.env}
		}
	}
	return m
}

// errNoSecret stands in for a parser's error about a credentials file, which
// might quote what it read.
var errNoSecret = errors.New("not a NATS credentials file (want a user JWT and an nkey seed)")

// options returns the connect options for the credential and TLS files.
// Every file is read and checked here, so that a missing or malformed one is
// one error naming its flag and path before any connection is tried; nats.go
// reads them again on each (re)connect, so renewed files are taken up.
func (n *natsFlags) options() ([]nats.Option, error) {
	s := n.resolve()
	var opts []nats.Option
	creds, nkey := s["nats-creds"], s["nats-nkey"]
	if creds.set() && nkey.set() {
		return nil, usageError{fmt.Errorf("%s and %s exclude each other", creds.from, nkey.from)}
	}
	if creds.set() {
		data, err := creds.read()
		if err != nil {
			return nil, err
		}
		hasJWT := bytes.Contains(data, []byte("-----BEGIN NATS USER JWT-----"))
		kp, err := nkeys.ParseDecoratedUserNKey(data)
		wipe(data)
		if !hasJWT || err != nil {
			return nil, creds.fileErr(errNoSecret)
		}
		kp.Wipe()
		opts = append(opts, nats.UserCredentials(creds.file))
	}
	if nkey.set() {
		data, err := nkey.read()
		if err != nil {
			return nil, err
		}
		wipe(data) // nats.go reads the seed again to sign each connect
		opt, err := nats.NkeyOptionFromSeed(nkey.file)
		if err != nil {
			return nil, nkey.fileErr(errors.New("not an nkey user seed"))
		}
		opts = append(opts, opt)
	}
	if ca := s["nats-ca"]; ca.set() {
		data, err := ca.read()
		if err != nil {
			return nil, err
		}
		if !x509.NewCertPool().AppendCertsFromPEM(data) {
			return nil, ca.fileErr(errors.New("no PEM certificate in it"))
		}
		opts = append(opts, nats.RootCAs(ca.file))
	}
	cert, key := s["nats-cert"], s["nats-key"]
	switch {
	case cert.set() && !key.set():
		return nil, usageError{fmt.Errorf("%s needs --nats-key (or NATS_KEY)", cert.from)}
	case key.set() && !cert.set():
		return nil, usageError{fmt.Errorf("%s needs --nats-cert (or NATS_CERT)", key.from)}
	case cert.set():
		for _, f := range []natsSetting{cert, key} {
			if _, err := f.read(); err != nil {
				return nil, err
			}
		}
		if _, err := tls.LoadX509KeyPair(cert.file, key.file); err != nil {
			return nil, fmt.Errorf("%s %s with %s %s: %w", cert.from, cert.file, key.from, key.file, err)
		}
		opts = append(opts, nats.ClientCert(cert.file, key.file))
	}
	return opts, nil
}

// wipe overwrites a secret read into memory.
func wipe(b []byte) {
	for i := range b {
		b[i] = 'x'
	}
}

// connect connects to url with the credential and TLS options, then extra.
func (n *natsFlags) connect(url string, extra ...nats.Option) (*nats.Conn, error) {
	opts, err := n.options()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(url, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS %s: %w", ingest.Redact(url), err)
	}
	return nc, nil
}

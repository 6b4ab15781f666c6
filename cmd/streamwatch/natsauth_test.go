package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/stretchr/testify/require"

	"github.com/streamwatch/streamwatch/alerts"
)

// testPKI is a CA and the server and client certificates it signed, as PEM
// files in a directory of the test.
type testPKI struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return p
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		return k
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		require.NoError(t, err)
		return der
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "streamwatch test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		k := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		require.NoError(t, err)
		return der, k
	}
	srvDER, srvKey := leaf(2, "localhost", x509.ExtKeyUsageServerAuth)
	cliDER, cliKey := leaf(3, "streamwatch", x509.ExtKeyUsageClientAuth)
	return testPKI{
		ca:         write("ca.pem", "CERTIFICATE", caDER),
		serverCert: write("server.pem", "CERTIFICATE", srvDER),
		serverKey:  write("server-key.pem", "PRIVATE KEY", keyDER(srvKey)),
		clientCert: write("client.pem", "CERTIFICATE", cliDER),
		clientKey:  write("client-key.pem", "PRIVATE KEY", keyDER(cliKey)),
	}
}

// withTLS makes the server speak TLS only, with the client certificate
// required and verified when mutual.
func (p testPKI) withTLS(t *testing.T, mutual bool) func(*server.Options) {
	return func(o *server.Options) {
		cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{
			CertFile: p.serverCert, KeyFile: p.serverKey, CaFile: p.ca, Verify: mutual,
		})
		require.NoError(t, err)
		o.TLS, o.TLSVerify, o.TLSConfig, o.TLSTimeout = true, mutual, cfg, 5
	}
}

// secureServer starts an embedded JetStream server on a free port with what
// each option adds (TLS, users), shut down when t ends.
func secureServer(t *testing.T, with ...func(*server.Options)) *server.Server {
	t.Helper()
	o := &server.Options{
		ServerName: "streamwatch-secure", Host: "127.0.0.1", Port: server.RANDOM_PORT,
		JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	}
	for _, f := range with {
		f(o)
	}
	srv, err := server.NewServer(o)
	require.NoError(t, err)
	go srv.Start()
	require.True(t, srv.ReadyForConnections(10*time.Second), "server not ready")
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

// nkeyUser makes a user nkey, writes its seed to a file and returns the
// option that makes the server accept only it.
func nkeyUser(t *testing.T) (seedFile string, with func(*server.Options)) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	require.NoError(t, err)
	seed, err := kp.Seed()
	require.NoError(t, err)
	pub, err := kp.PublicKey()
	require.NoError(t, err)
	seedFile = filepath.Join(t.TempDir(), "user.nk")
	require.NoError(t, os.WriteFile(seedFile, append(seed, '\n'), 0o600))
	return seedFile, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} }
}

// operatorUser mints an operator, a system account, an account with
// JetStream and a user of it; it writes the user's creds file and returns the
// option that runs the server in operator mode trusting that operator.
func operatorUser(t *testing.T) (credsFile string, with func(*server.Options)) {
	t.Helper()
	okp, err := nkeys.CreateOperator()
	require.NoError(t, err)
	opub, err := okp.PublicKey()
	require.NoError(t, err)
	oc := jwt.NewOperatorClaims(opub)
	oc.Name = "test-operator"
	ojwt, err := oc.Encode(okp)
	require.NoError(t, err)
	oc, err = jwt.DecodeOperatorClaims(ojwt)
	require.NoError(t, err)

	resolver := &server.MemAccResolver{}
	account := func(name string, js bool) (nkeys.KeyPair, string) {
		akp, err := nkeys.CreateAccount()
		require.NoError(t, err)
		apub, err := akp.PublicKey()
		require.NoError(t, err)
		ac := jwt.NewAccountClaims(apub)
		ac.Name = name
		if js {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1, MaxAckPending: -1}
		}
		ajwt, err := ac.Encode(okp)
		require.NoError(t, err)
		require.NoError(t, resolver.Store(apub, ajwt))
		return akp, apub
	}
	_, sysPub := account("SYS", false)
	akp, _ := account("APP", true)

	ukp, err := nkeys.CreateUser()
	require.NoError(t, err)
	upub, err := ukp.PublicKey()
	require.NoError(t, err)
	useed, err := ukp.Seed()
	require.NoError(t, err)
	uc := jwt.NewUserClaims(upub)
	uc.Name = "streamwatch"
	ujwt, err := uc.Encode(akp)
	require.NoError(t, err)
	creds, err := jwt.FormatUserConfig(ujwt, useed)
	require.NoError(t, err)
	credsFile = filepath.Join(t.TempDir(), "user.creds")
	require.NoError(t, os.WriteFile(credsFile, creds, 0o600))
	return credsFile, func(o *server.Options) {
		o.TrustedOperators = []*jwt.OperatorClaims{oc}
		o.AccountResolver = resolver
		o.SystemAccount = sysPub
	}
}

// TestNATSConnectOptions connects through natsFlags (the one place every
// command builds its options) to servers with TLS, mutual TLS, an nkey user
// and operator-mode creds: with the right files JetStream answers, without
// them the server refuses; a flag wins over its environment variable.
func TestNATSConnectOptions(t *testing.T) {
	pki := newTestPKI(t)
	seed, nkeyAuth := nkeyUser(t)
	creds, operator := operatorUser(t)
	tlsSrv := secureServer(t, pki.withTLS(t, false))
	mtlsSrv := secureServer(t, pki.withTLS(t, true))
	nkeySrv := secureServer(t, nkeyAuth)
	credsSrv := secureServer(t, operator, pki.withTLS(t, true))
	tests := []struct {
		name  string
		srv   *server.Server
		flags natsFlags
		env   map[string]string
		fails bool
	}{
		{name: "tls with --nats-ca", srv: tlsSrv, flags: natsFlags{ca: pki.ca}},
		{name: "tls without the CA", srv: tlsSrv, fails: true},
		{name: "tls with NATS_CA", srv: tlsSrv, env: map[string]string{"NATS_CA": pki.ca}},
		{name: "mutual tls", srv: mtlsSrv, flags: natsFlags{ca: pki.ca, cert: pki.clientCert, key: pki.clientKey}},
		{name: "mutual tls without a client certificate", srv: mtlsSrv, flags: natsFlags{ca: pki.ca}, fails: true},
		{name: "mutual tls from NATS_CERT and NATS_KEY", srv: mtlsSrv, flags: natsFlags{ca: pki.ca},
			env: map[string]string{"NATS_CERT": pki.clientCert, "NATS_KEY": pki.clientKey}},
		{name: "nkey user", srv: nkeySrv, flags: natsFlags{nkey: seed}},
		{name: "nkey user from NATS_NKEY", srv: nkeySrv, env: map[string]string{"NATS_NKEY": seed}},
		{name: "no nkey", srv: nkeySrv, fails: true},
		{name: "creds over mutual tls", srv: credsSrv, flags: natsFlags{creds: creds, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey}},
		{name: "creds from NATS_CREDS", srv: credsSrv, flags: natsFlags{ca: pki.ca, cert: pki.clientCert, key: pki.clientKey},
			env: map[string]string{"NATS_CREDS": creds}},
		{name: "flag over environment", srv: credsSrv, flags: natsFlags{creds: creds, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey},
			env: map[string]string{"NATS_CREDS": "/nonexistent.creds", "NATS_CA": "/nonexistent.pem"}},
		{name: "no creds", srv: credsSrv, flags: natsFlags{ca: pki.ca, cert: pki.clientCert, key: pki.clientKey}, fails: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"NATS_CREDS", "NATS_NKEY", "NATS_CA", "NATS_CERT", "NATS_KEY"} {
				t.Setenv(k, tc.env[k])
			}
			nc, err := tc.flags.connect(tc.srv.ClientURL(), nats.MaxReconnects(0))
			if tc.fails {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			defer nc.Close()
			js, err := jetstream.New(nc)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = js.AccountInfo(ctx)
			require.NoError(t, err)
		})
	}
}

// authRun runs the binary with env added to the test's environment (NATS_*
// cleared first) and returns its result.
func authRun(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "NATS_URL=", "NATS_CREDS=", "NATS_NKEY=", "NATS_CA=", "NATS_CERT=", "NATS_KEY=",
		"STREAMWATCH_OUTBOX_DIR="+t.TempDir(), "OMP_THREAD_LIMIT=1")
	cmd.Env = append(cmd.Env, env...)
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "timed out; stderr: %s", se.String())
	code := 0
	if ee := (*exec.ExitError)(nil); err != nil {
		require.ErrorAs(t, err, &ee)
		code = ee.ExitCode()
	}
	return result{code, so.String(), se.String()}
}

// TestEveryNATSCommandAuthenticates runs each command that talks to NATS
// against a server in operator mode over mutual TLS, given the creds, CA,
// certificate and key by flags (and, for status, by the environment).
func TestEveryNATSCommandAuthenticates(t *testing.T) {
	pki := newTestPKI(t)
	creds, operator := operatorUser(t)
	srv := secureServer(t, operator, pki.withTLS(t, true))
	url := srv.ClientURL()
	auth := []string{"--nats", url, "--nats-creds", creds, "--nats-ca", pki.ca, "--nats-cert", pki.clientCert, "--nats-key", pki.clientKey}
	runAuthed := func(t *testing.T, args ...string) result {
		t.Helper()
		r := authRun(t, nil, append(args, auth...)...)
		require.Equal(t, 0, r.code, "%s: %s", args[0], r.stderr)
		return r
	}

	// Without the files the server refuses every command.
	r := authRun(t, nil, "status", "--nats", url, "--nats-ca", pki.ca)
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, r.stderr, "connect to NATS")

	out := filepath.Join(t.TempDir(), "replay.jsonl")
	runAuthed(t, "replay", offerClip(t), "--stream-id", "auth-replay", "--out", out, "--ocr-workers", "1")
	replayed := readRecords(t, out)
	requireOfferClipAlert(t, replayed)
	runAuthed(t, "watch", offerClip(t), "--stream-id", "auth-watch", "--metrics-addr", "", "--ocr-workers", "1")

	r = runAuthed(t, "alerts", "--format", "json")
	var ids []string
	for _, l := range jsonLines(t, r.stdout) {
		var rec alerts.Record
		require.NoError(t, json.Unmarshal([]byte(l), &rec))
		ids = append(ids, rec.StreamID)
	}
	require.Contains(t, ids, "auth-replay")
	require.Contains(t, ids, "auth-watch")

	// The console reads them with the same flags (and keeps verdicts there).
	con := startChild(t, append([]string{"console", "--addr", "127.0.0.1:0"}, auth...)...)
	base := con.line(t, consoleURLRe, 30*time.Second)
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "api/alerts?stream=auth-watch")
		if err != nil {
			return false
		}
		body, err := io.ReadAll(resp.Body)
		return errors.Join(err, resp.Body.Close()) == nil && strings.Contains(string(body), `"stream_id":"auth-watch"`)
	}, 30*time.Second, 50*time.Millisecond, "console: %s", con.stderr.String())
	con.stop(t)

	rules := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(rules, []byte(reloadRules("gucci", "Gucci", "offer")), 0o644))
	r = runAuthed(t, "rules", "push", rules)
	require.Contains(t, r.stdout, "revision 1")

	w := startPoolWorker(t, url, "auth-worker", 1, append([]string{"--log-level", "debug"}, auth[2:]...)...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		// status from the environment, the nats CLI's variables
		r = authRun(t, []string{"NATS_URL=" + url, "NATS_CREDS=" + creds, "NATS_CA=" + pki.ca,
			"NATS_CERT=" + pki.clientCert, "NATS_KEY=" + pki.clientKey}, "status", "--json")
		require.Equal(t, 0, r.code, r.stderr)
		if strings.Contains(r.stdout, `"auth-worker"`) {
			break
		}
		require.True(t, time.Now().Before(deadline), "worker not in status: %s\nworker: %s", r.stdout, w.stderr.String())
		select {
		case <-w.exited:
			t.Fatalf("worker exited: %s", w.stderr.String())
		case <-time.After(500 * time.Millisecond): // the worker's heartbeat comes every 2 s
		}
	}
	runAuthed(t, "submit", "rtmp://127.0.0.1:1/none", "--stream-id", "auth-submitted")
	r = runAuthed(t, "status", "--json")
	require.Contains(t, r.stdout, "auth-submitted")
	runAuthed(t, "stop", "auth-submitted")
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	w.exitedAfter(t, time.Now())
	require.Equal(t, 0, w.cmd.ProcessState.ExitCode(), w.stderr.String())

	// Neither the user's seed nor its JWT shows in the debug log.
	data, err := os.ReadFile(creds)
	require.NoError(t, err)
	userJWT, err := nkeys.ParseDecoratedJWT(data)
	require.NoError(t, err)
	kp, err := nkeys.ParseDecoratedUserNKey(data)
	require.NoError(t, err)
	seed, err := kp.Seed()
	require.NoError(t, err)
	require.NotContains(t, w.stderr.String(), string(seed))
	require.NotContains(t, w.stderr.String(), userJWT)
}

// TestNATSAuthFileErrors: a file that is missing, unreadable or of the wrong
// kind ends the command with one line naming the flag (or variable) and the
// file, before any connection, and never shows a secret.
func TestNATSAuthFileErrors(t *testing.T) {
	pki := newTestPKI(t)
	seed, _ := nkeyUser(t)
	seedText, err := os.ReadFile(seed)
	require.NoError(t, err)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	unreadable := t.TempDir() // a directory: unreadable as a file, even for root
	rules := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rules, []byte(reloadRules("gucci", "Gucci", "offer")), 0o644))
	url := "nats://127.0.0.1:1" // never reached: the files are checked first
	tests := []struct {
		name string
		env  []string
		args []string
		code int
		want []string
	}{
		{"missing creds file", nil, []string{"status", "--nats", url, "--nats-creds", missing}, 1, []string{"--nats-creds", missing, "no such file"}},
		{"missing nkey file", nil, []string{"stop", "x", "--nats", url, "--nats-nkey", missing}, 1, []string{"--nats-nkey", missing}},
		{"missing ca file", nil, []string{"alerts", "--nats", url, "--nats-ca", missing}, 1, []string{"--nats-ca", missing}},
		{"missing cert file", nil, []string{"submit", "rtmp://h/a", "--nats", url, "--nats-cert", missing, "--nats-key", pki.clientKey}, 1, []string{"--nats-cert", missing}},
		{"missing key from env", []string{"NATS_KEY=" + missing}, []string{"replay", "x.mp4", "--nats", url, "--nats-cert", pki.clientCert}, 1, []string{"NATS_KEY", missing}},
		{"missing creds from env", []string{"NATS_CREDS=" + missing}, []string{"worker", "--nats", url}, 1, []string{"NATS_CREDS", missing}},
		{"unreadable creds", nil, []string{"rules", "push", rules, "--nats", url, "--nats-creds", unreadable}, 1, []string{"--nats-creds", unreadable}},
		{"seed given as creds", nil, []string{"status", "--nats", url, "--nats-creds", seed}, 1, []string{"--nats-creds", seed, "not a NATS credentials file"}},
		{"certificate given as ca key pair", nil, []string{"status", "--nats", url, "--nats-cert", pki.clientCert, "--nats-key", pki.clientCert}, 1, []string{"--nats-cert", "--nats-key"}},
		{"key given as ca", nil, []string{"status", "--nats", url, "--nats-ca", pki.clientKey}, 1, []string{"--nats-ca", pki.clientKey, "no PEM certificate"}},
		{"cert without key", nil, []string{"status", "--nats", url, "--nats-cert", pki.clientCert}, 2, []string{"--nats-cert needs --nats-key"}},
		{"creds and nkey", nil, []string{"status", "--nats", url, "--nats-creds", seed, "--nats-nkey", seed}, 2, []string{"exclude each other"}},
		{"creds without a server", nil, []string{"watch", "x.mp4", "--nats-creds", seed}, 2, []string{"--nats-creds needs --nats URL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := authRun(t, tc.env, tc.args...)
			require.Equal(t, tc.code, r.code, r.stderr)
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			for _, w := range tc.want {
				require.Contains(t, last, w)
			}
			require.NotContains(t, r.stderr, strings.TrimSpace(string(seedText)))
		})
	}
}

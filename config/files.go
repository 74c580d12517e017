package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	commoncfg "github.com/prometheus/common/config"
)

// CheckFiles checks that every file the configuration names and that its
// source and actuators will read exists and can be read: the load traces,
// the webhooks' auth_file and TLS files, and the Prometheus source's
// credential and TLS files (when source.kind is prometheus), and that the
// state file can be written where it is (its folder exists; it is not a
// folder). It returns one
// *Error per problem, with the field's YAML path and, for a Config that
// Load made, its file and line, joined with errors.Join;
// nil when all can be read. Run it after SetDirectory (LoadFile does
// that); `presage check` does, as run would fail later on the same files.
func (c *Config) CheckFiles() error {
	v := new(validator)
	if c.Source.Kind == SourcePrometheus {
		h := &c.Source.Prometheus.HTTPClientConfig
		p := "source.prometheus"
		if h.BasicAuth != nil {
			checkFile(v, p+".basic_auth.username_file", h.BasicAuth.UsernameFile)
			checkFile(v, p+".basic_auth.password_file", h.BasicAuth.PasswordFile)
		}
		if h.Authorization != nil {
			checkFile(v, p+".authorization.credentials_file", h.Authorization.CredentialsFile)
		}
		checkFile(v, p+".bearer_token_file", h.BearerTokenFile)
		if h.OAuth2 != nil {
			checkFile(v, p+".oauth2.client_secret_file", h.OAuth2.ClientSecretFile)
			checkTLSFiles(v, p+".oauth2.tls_config", &h.OAuth2.TLSConfig)
		}
		checkTLSFiles(v, p+".tls_config", &h.TLSConfig)
	}
	checkStateFile(v, "global.state_file", c.Global.StateFile)
	for i := range c.Services {
		s := &c.Services[i]
		path := fmt.Sprintf("services[%d]", i)
		checkFile(v, path+".sim.load.trace", s.Sim.Load.Trace)
		for j := range s.Playbook {
			a := &s.Playbook[j].Actuator
			if a.Kind != ActuatorWebhook {
				continue
			}
			wp := fmt.Sprintf("%s.playbook[%d].actuator.webhook", path, j)
			checkFile(v, wp+".auth_file", a.Webhook.AuthFile)
			checkTLSFiles(v, wp+".tls_config", &a.Webhook.TLSConfig)
		}
	}
	if len(v.errs) == 0 {
		return nil
	}
	return joinErrors(c.locate(v.errs))
}

func checkTLSFiles(v *validator, path string, t *commoncfg.TLSConfig) {
	checkFile(v, path+".ca_file", t.CAFile)
	checkFile(v, path+".cert_file", t.CertFile)
	checkFile(v, path+".key_file", t.KeyFile)
}

// checkFile reports a file name that is set but cannot be opened for
// reading, or is a directory.
func checkFile(v *validator, path, name string) {
	if name == "" {
		return
	}
	f, err := os.Open(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		v.addf(path, "cannot read %q: %s", name, err.Error())
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		v.addf(path, "%q is a directory, not a file", name)
	}
}

// checkStateFile reports a state file that run could not save: its folder
// is missing or not a folder, or the path is a folder. The file itself may
// be missing (the first run writes it).
func checkStateFile(v *validator, path, name string) {
	if name == "" {
		return
	}
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		v.addf(path, "%q is a directory, not a file", name)
		return
	}
	dir := filepath.Dir(name)
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		v.addf(path, "cannot save %q: its folder %q: %s", name, dir, err.Error())
	case !st.IsDir():
		v.addf(path, "cannot save %q: %q is not a folder", name, dir)
	}
}

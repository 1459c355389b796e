package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeDryRun prints the commands make would run for target from the
// repository root (make -n runs nothing).
func makeDryRun(t *testing.T, target string) []string {
	t.Helper()
	out, err := exec.Command("make", "-n", "-C", "..", target).CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %s: %v\n%s", target, err, out)
	}
	return strings.Split(string(out), "\n")
}

// TestCDKCommandFlags (issue 15, item 10): cdk diff refuses --all ("Unknown
// option(s)"); deploy and destroy need it for the two stacks.
func TestCDKCommandFlags(t *testing.T) {
	for _, tc := range []struct {
		target  string
		wantAll bool
	}{{"diff", false}, {"deploy", true}, {"destroy", true}} {
		var cmd string
		for _, l := range makeDryRun(t, tc.target) {
			if strings.Contains(l, "node_modules/.bin/cdk "+tc.target+" ") {
				cmd = l
			}
		}
		if cmd == "" {
			t.Errorf("make %s runs no cdk %s", tc.target, tc.target)
			continue
		}
		if strings.Contains(cmd, " --all") != tc.wantAll {
			t.Errorf("make %s: %s (want --all: %v)", tc.target, cmd, tc.wantAll)
		}
		if !strings.Contains(cmd, "--app ") {
			t.Errorf("make %s: %s does not use the synthesized cdk.out", tc.target, cmd)
		}
	}
	// deploy checks the bootstrap of both regions before deploying.
	lines := makeDryRun(t, "deploy")
	check, deploy := -1, -1
	for i, l := range lines {
		if strings.Contains(l, "infra/bootstrap.sh") && check < 0 {
			check = i
		}
		if strings.Contains(l, "node_modules/.bin/cdk deploy ") {
			deploy = i
		}
	}
	if check < 0 || deploy < 0 || check > deploy {
		t.Errorf("make deploy: bootstrap check at line %d, cdk deploy at %d; want the check first", check, deploy)
	}
}

// fakeBin writes executable scripts into a new directory for PATH.
func fakeBin(t *testing.T, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/usr/bin/env bash\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// manifest is a cdk.out manifest with the two stacks of a deployment.
const manifest = `{"version":"48.0.0","artifacts":{
 "ststack-x-certificate":{"type":"aws:cloudformation:stack","environment":"aws://unknown-account/us-east-1",
   "properties":{"templateFile":"a.json","requiresBootstrapStackVersion":6,"bootstrapStackVersionSsmParameter":"/cdk-bootstrap/hnb659fds/version"}},
 "ststack-x":{"type":"aws:cloudformation:stack","environment":"aws://unknown-account/eu-west-1",
   "properties":{"templateFile":"b.json","requiresBootstrapStackVersion":6,"bootstrapStackVersionSsmParameter":"/cdk-bootstrap/hnb659fds/version"}},
 "ststack-x.assets":{"type":"cdk:asset-manifest","properties":{"file":"x.assets.json","requiresBootstrapStackVersion":6,
   "bootstrapStackVersionSsmParameter":"/cdk-bootstrap/hnb659fds/version"}},
 "Tree":{"type":"cdk:tree","properties":{"file":"tree.json"}}}}`

// TestBootstrapCheck: make deploy bootstraps every region of the stacks
// whose CDK bootstrap is missing or too old (the SSM parameter
// /cdk-bootstrap/hnb659fds/version), or with BOOTSTRAP=no stops before
// deploying with the exact command.
func TestBootstrapCheck(t *testing.T) {
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "manifest.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		versions    string // region=version of the existing bootstraps
		noSTS       bool
		bootstrapNo bool
		wantErr     bool
		wantCDK     string // the cdk command run, "" for none
		wantOutput  string
	}{
		{name: "fresh account", wantCDK: "bootstrap aws://111122223333/us-east-1 aws://111122223333/eu-west-1"},
		{name: "both bootstrapped", versions: "us-east-1=30 eu-west-1=30"},
		{name: "one missing", versions: "us-east-1=30", wantCDK: "bootstrap aws://111122223333/eu-west-1"},
		{name: "one too old", versions: "us-east-1=5 eu-west-1=30", wantCDK: "bootstrap aws://111122223333/us-east-1"},
		{name: "BOOTSTRAP=no", versions: "us-east-1=30", bootstrapNo: true, wantErr: true,
			wantOutput: "cdk bootstrap aws://111122223333/eu-west-1"},
		{name: "no credentials", noSTS: true, wantErr: true, wantOutput: "AWS credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "cdk.log")
			bin := fakeBin(t, map[string]string{
				"aws": `
if [[ $1 == sts ]]; then [[ -n $FAKE_NO_STS ]] && { echo "Unable to locate credentials" >&2; exit 253; }; echo 111122223333; exit 0; fi
if [[ $1 == ssm && $2 == get-parameter ]]; then
  region=""; name=""
  while (($#)); do case $1 in --region) region=$2; shift;; --name) name=$2; shift;; esac; shift; done
  [[ $name == /cdk-bootstrap/hnb659fds/version ]] || { echo "bad name $name" >&2; exit 2; }
  for v in $FAKE_VERSIONS; do [[ ${v%%=*} == "$region" ]] && { echo "${v#*=}"; exit 0; }; done
  echo "An error occurred (ParameterNotFound) when calling the GetParameter operation: " >&2; exit 254
fi
echo "unexpected aws $*" >&2; exit 2
`,
				"cdk": `echo "$*" >>"$FAKE_CDK_LOG"`,
			})
			cmd := exec.Command("bash", "bootstrap.sh", out, filepath.Join(bin, "cdk"))
			cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "FAKE_VERSIONS="+tc.versions, "FAKE_CDK_LOG="+log)
			if tc.noSTS {
				cmd.Env = append(cmd.Env, "FAKE_NO_STS=1")
			}
			if tc.bootstrapNo {
				cmd.Env = append(cmd.Env, "BOOTSTRAP=no")
			}
			output, err := cmd.CombinedOutput()
			if (err != nil) != tc.wantErr {
				t.Fatalf("bootstrap.sh: %v, want error %v\n%s", err, tc.wantErr, output)
			}
			ran, _ := os.ReadFile(log)
			if got := strings.TrimSpace(string(ran)); !strings.HasPrefix(got, tc.wantCDK) || (tc.wantCDK == "") != (got == "") {
				t.Errorf("cdk ran %q, want %q\n%s", got, tc.wantCDK, output)
			}
			if !strings.Contains(string(output), tc.wantOutput) {
				t.Errorf("output lacks %q:\n%s", tc.wantOutput, output)
			}
		})
	}
}

// TestCFNLint: make cfn-lint (part of make lint) lints the templates in
// cdk.out with cfn-lint when it is installed, and says so when it is not
// or when there is nothing to lint.
func TestCFNLint(t *testing.T) {
	out := t.TempDir()
	for _, name := range []string{"a.template.json", "b.template.json"} {
		if err := os.WriteFile(filepath.Join(out, name), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log := filepath.Join(t.TempDir(), "cfn-lint.log")
	withLint := fakeBin(t, map[string]string{"cfn-lint": `[[ $1 == --version ]] && { echo "cfn-lint 1.51.0"; exit 0; }; echo "$*" >>"$FAKE_LINT_LOG"; exit ${FAKE_LINT_EXIT:-0}`})
	// A PATH with what make and its shell need, without cfn-lint.
	base := fakeBin(t, nil)
	for _, tool := range []string{"bash", "sh", "ls", "tr", "make", "cat"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(base, tool)); err != nil {
			t.Fatal(err)
		}
	}
	run := func(path, cdkOut string, env ...string) (string, error) {
		cmd := exec.Command(filepath.Join(base, "make"), "-s", "-C", "..", "cfn-lint", "CDK_OUT="+cdkOut)
		cmd.Env = append([]string{"PATH=" + path, "FAKE_LINT_LOG=" + log, "HOME=" + os.Getenv("HOME")}, env...)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	if got, err := run(base, out); err != nil || !strings.Contains(got, "cfn-lint: not installed") {
		t.Errorf("without cfn-lint: %v, %q; want a note that it is not installed", err, got)
	}
	if got, err := run(withLint+":"+base, t.TempDir()); err != nil || !strings.Contains(got, "no templates in cdk.out") {
		t.Errorf("without templates: %v, %q; want a note that nothing was linted", err, got)
	}
	got, err := run(withLint+":"+base, out)
	ran, _ := os.ReadFile(log)
	if err != nil || !strings.Contains(string(ran), "a.template.json") || !strings.Contains(string(ran), "b.template.json") {
		t.Errorf("with cfn-lint: %v, %q; cfn-lint ran with %q", err, got, ran)
	}
	if _, err := run(withLint+":"+base, out, "FAKE_LINT_EXIT=2"); err == nil {
		t.Error("make cfn-lint succeeded although cfn-lint found errors")
	}
	for _, l := range makeDryRun(t, "lint") {
		if strings.Contains(l, "cfn-lint") {
			return
		}
	}
	t.Error("make lint does not run cfn-lint")
}

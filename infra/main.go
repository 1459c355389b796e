// Command infra is ststack's CDK app: the stacks of one organisation,
// from the organisation file given as the context value config
// (cdk synth -c config=PATH, or CDK_CONTEXT_JSON), by default
// ../ststack.example.yaml. The function binaries come from the context
// value lambdas, by default ../build/lambda (make lambdas builds them).
//
// A synth needs no AWS credentials: stacks are account-agnostic unless
// CDK_DEFAULT_ACCOUNT is set, and no value is looked up. It fails when
// cdk-nag reports an error.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/ststack/ststack/infra/stacks"
)

func main() {
	os.Exit(run())
}

func run() int {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	staging, err := os.MkdirTemp("", "ststack-assets-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		return 1
	}
	defer os.RemoveAll(staging)
	_, err = stacks.New(app, stacks.Options{
		ConfigPath: contextString(app, "config", "../ststack.example.yaml"),
		LambdaDir:  contextString(app, "lambdas", "../build/lambda"),
		StagingDir: staging,
		Account:    os.Getenv("CDK_DEFAULT_ACCOUNT"),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		return 1
	}
	if err := synth(app); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		return 1
	}
	if errs := stacks.SynthErrors(app); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(os.Stderr, "infra:", e)
		}
		fmt.Fprintln(os.Stderr, "infra: synth has errors (cdk-nag findings need a fix or a suppression with its reason)")
		return 1
	}
	return 0
}

// contextString is the context value key, or def when it is not set.
func contextString(app awscdk.App, key, def string) string {
	if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok && v != "" {
		return v
	}
	return def
}

// synth synthesizes app; the CDK refuses a template beyond a limit with a
// panic from jsii, which becomes an error here rather than a Go stack trace
// (stacks.New refuses the known limits first).
func synth(app awscdk.App) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synth: %v", r)
		}
	}()
	app.Synth(nil)
	return nil
}

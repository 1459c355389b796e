package config

import "path/filepath"

// Environment variables every ststack Lambda function reads to find the
// organisation file bundled in its deployment asset.
const (
	// EnvConfig names the organisation file; a relative path is taken
	// relative to EnvTaskRoot. Default: LambdaFile.
	EnvConfig = "STSTACK_CONFIG"
	// EnvTaskRoot is set by the Lambda runtime to the asset's directory.
	EnvTaskRoot = "LAMBDA_TASK_ROOT"
	// LambdaFile is the organisation file's name in a function's asset,
	// where the CDK app places a copy of the deployed file.
	LambdaFile = "ststack.yaml"
)

// LambdaPath is where a Lambda function finds its organisation file:
// $STSTACK_CONFIG (default ststack.yaml), a relative path taken relative to
// $LAMBDA_TASK_ROOT when that is set. getenv is os.Getenv outside tests.
func LambdaPath(getenv func(string) string) string {
	path := getenv(EnvConfig)
	if path == "" {
		path = LambdaFile
	}
	if root := getenv(EnvTaskRoot); root != "" && !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	return path
}

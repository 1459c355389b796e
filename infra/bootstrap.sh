#!/usr/bin/env bash
# Usage: infra/bootstrap.sh CDK_OUT CDK
#
# Run by `make deploy` before `cdk deploy`: every region a synthesized stack
# of CDK_OUT deploys to (the organisation's region and us-east-1) must carry
# the CDK bootstrap (the CDKToolkit stack: the asset bucket and the deploy
# roles). A region is bootstrapped when the SSM parameter the stack names
# (bootstrapStackVersionSsmParameter, /cdk-bootstrap/hnb659fds/version by
# default) exists there and holds at least the version the stack requires
# (requiresBootstrapStackVersion); see
# https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html.
#
# Regions that are not get `CDK bootstrap aws://ACCOUNT/REGION …` (it is
# idempotent), unless BOOTSTRAP=no: then the script stops before anything
# is deployed and prints the exact command to run.
set -euo pipefail

out=${1:?usage: bootstrap.sh CDK_OUT CDK}
cdk=${2:?usage: bootstrap.sh CDK_OUT CDK}
manifest=$out/manifest.json
[[ -f $manifest ]] || { echo "bootstrap: $manifest: missing (make synth first)" >&2; exit 1; }

# "REGION VERSION PARAMETER" for every stack, one line each, sorted.
envs=$(node -e '
const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const seen = new Set();
for (const a of Object.values(m.artifacts || {})) {
  if (a.type !== "aws:cloudformation:stack") continue;
  const region = (a.environment || "").split("/").pop();
  const p = a.properties || {};
  const line = [region, p.requiresBootstrapStackVersion || 1,
    p.bootstrapStackVersionSsmParameter || "/cdk-bootstrap/hnb659fds/version"].join(" ");
  if (!seen.has(line)) { seen.add(line); console.log(line); }
}' "$manifest")
[[ -n $envs ]] || { echo "bootstrap: $manifest lists no stack" >&2; exit 1; }

if ! command -v aws >/dev/null 2>&1; then
	echo "bootstrap: the AWS CLI (aws) is not installed; it checks the CDK bootstrap of each region before the deploy" >&2
	echo "bootstrap: install it (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html), then run make deploy again" >&2
	exit 1
fi
if ! account=$(aws sts get-caller-identity --query Account --output text 2>&1); then
	echo "bootstrap: no usable AWS credentials (aws sts get-caller-identity: $account)" >&2
	echo "bootstrap: configure them (aws configure, AWS_PROFILE, …), then run make deploy again" >&2
	exit 1
fi

missing=()
while read -r region need param; do
	if have=$(aws ssm get-parameter --region "$region" --name "$param" --query Parameter.Value --output text 2>&1); then
		if [[ $have =~ ^[0-9]+$ ]] && ((have >= need)); then
			echo "bootstrap: aws://$account/$region: CDK bootstrap version $have (need $need)"
			continue
		fi
		echo "bootstrap: aws://$account/$region: CDK bootstrap version $have, this app needs $need"
	elif [[ $have == *ParameterNotFound* ]]; then
		echo "bootstrap: aws://$account/$region: not bootstrapped for the CDK ($param missing)"
	else
		echo "bootstrap: aws://$account/$region: cannot read $param: $have" >&2
		exit 1
	fi
	missing+=("aws://$account/$region")
done <<<"$envs"

((${#missing[@]})) || exit 0
if [[ ${BOOTSTRAP:-yes} == no ]]; then
	echo "bootstrap: stopping before the deploy (BOOTSTRAP=no); run once, then make deploy again:" >&2
	echo "  .tools/cdk/node_modules/.bin/cdk bootstrap ${missing[*]}" >&2
	exit 1
fi
echo "bootstrap: cdk bootstrap ${missing[*]}"
"$cdk" bootstrap "${missing[@]}" --no-notices

#!/bin/sh
# Validates the manifests in k8s/ offline against the Kubernetes JSON schemas that the PyPI package
# kubernetes-validate bundles (nothing is fetched), strictly (unknown fields are errors), and checks
# that the validator does reject a broken manifest, so a silent validator cannot pass this test.
#   pip install kubernetes-validate==1.37.0 && sh k8s/validate.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kubernetes-validate --strict --quiet "$here"/deployment.yaml "$here"/service.yaml "$here"/hpa.yaml

broken=$(mktemp -d)
trap 'rm -rf "$broken"' EXIT
# A typo'd field (`minReplica`) and a string where the schema wants an integer.
sed -e 's/minReplicas: 1/minReplica: 1/' -e 's/averageUtilization: 40/averageUtilization: "40"/' \
  "$here"/hpa.yaml > "$broken"/hpa.yaml
if kubernetes-validate --strict --quiet "$broken"/hpa.yaml > "$broken"/out 2>&1; then
  echo "kubernetes-validate accepted a broken HPA manifest" >&2
  exit 1
fi
echo "k8s manifests valid (kubernetes-validate $(kubernetes-validate --version 2>&1 | tail -1), strict)"

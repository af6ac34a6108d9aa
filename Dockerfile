# The image of `food-classifier serve`, built from nothing pulled: a static (musl) binary and the
# built site, on an empty base. `cargo xtask container` assembles the build context (the binary,
# built without a second copy of the model, and `dist/` as `www/`), builds this file with podman,
# and runs the smoke and load tests against the running container:
#   cargo xtask container
#   podman run --rm --read-only -p 127.0.0.1:8080:8080 food-classifier   # then open http://127.0.0.1:8080
# The Kubernetes manifests in k8s/ run this image.

FROM scratch
COPY food-classifier /food-classifier
COPY www /srv/www
# No shell, no libc, nothing else: uploads stay in memory, so the root filesystem can be
# read-only and the process needs no capability and no user of its own.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/food-classifier", "--model", "/srv/www/models/food11-mobilenetv2.onnx"]
CMD ["serve", "--addr", "0.0.0.0", "--port", "8080", "--dir", "/srv/www", "--max-memory", "448"]

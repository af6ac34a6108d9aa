# Multi-stage image for `food-classifier serve`: build the server and the static site with the Rust
# toolchain, then ship only the binary (the model is compiled into it) and the site on a slim base.
#   docker build -t food-classifier .
#   docker run --rm -p 8080:8080 food-classifier      # then open http://127.0.0.1:8080
# The Kubernetes manifests in k8s/ run this image.

FROM rust:1-bookworm AS builder
WORKDIR /src
# `cargo xtask web` installs the wasm target and wasm-bindgen-cli itself (pinned in xtask/src/setup.rs).
COPY . .
RUN cargo xtask web \
 && cargo build --release --locked --bin food-classifier \
 && cp target/release/food-classifier /usr/local/bin/food-classifier

FROM debian:bookworm-slim AS runtime
COPY --from=builder /usr/local/bin/food-classifier /usr/local/bin/food-classifier
COPY --from=builder /src/dist /srv/www
# Uploads stay in memory, so the container runs unprivileged with a read-only root filesystem.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["food-classifier"]
CMD ["serve", "--addr", "0.0.0.0", "--port", "8080", "--dir", "/srv/www"]

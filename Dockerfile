# The operator's image, for a machine with a Docker engine (or buildah,
# kaniko): a static manager on a distroless-like base. `make image` builds
# the same image with no engine at all (hack/image).
#
#   docker build --build-arg VERSION=0.1.0 -t okta-sso-operator:0.1.0 .
#
# BASE is scratch plus, from the build stage, what distroless's static
# nonroot image holds (the CA roots and the nonroot user); pass your mirror
# of distroless static:nonroot as BASE to use it instead.
ARG BASE=scratch

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
COPY pkg/ pkg/
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/manager ./cmd/manager \
 && CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w" -o /out/okta-emulator ./cmd/okta-emulator
RUN mkdir -p /out/etc/ssl/certs \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /out/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /out/etc/group

FROM ${BASE}
ARG VERSION=dev
LABEL org.opencontainers.image.title="okta-sso-operator" \
      org.opencontainers.image.description="Declarative Okta SAML single sign-on for Kubernetes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/oktaop/okta-sso-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/ /
USER 65532:65532
ENTRYPOINT ["/manager"]

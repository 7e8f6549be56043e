# syntax=docker/dockerfile:1
# Multi-stage build: the build stage bundles the exporter with esbuild (npm run bundle, scripts/bundle.ts) into one
# script and the bcrypt binding beside it, the very bundle the single executable of `npm run package` carries, so
# both deployments run the same code. The runtime image holds those two files and Node.js: no node_modules.
#
#   docker build --build-arg REVISION=$(git rev-parse --short HEAD) --build-arg BRANCH=$(git rev-parse --abbrev-ref HEAD) \
#     -t k0s-etcdmember-exporter:0.1.0 .
#
# REVISION and BRANCH are stamped into the bundle (there is no .git in the build stage), with the build date and
# user, and --version and k0s_etcdmember_build_info say them; "unknown" when not given, as prometheus/common does.
#
# Node.js 24 is the Active LTS line (supported until April 2028). The tag is pinned to a patch release so a
# rebuild gives the same runtime; bump it deliberately when updating (both stages use it).
ARG NODE_IMAGE=node:24.11.1-bookworm-slim
ARG REVISION=unknown
ARG BRANCH=unknown

FROM ${NODE_IMAGE} AS build
ARG REVISION
ARG BRANCH
# Read by scripts/bundle.ts, which stamps them into the bundle; this stage's environment is not the image's.
ENV BUILD_REVISION=${REVISION} \
    BUILD_BRANCH=${BRANCH}
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency needs an install script to work (protobufjs's only checks its CLI's peers).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.bundle.json ./
COPY src ./src
COPY scripts/bundle.ts ./scripts/
# The bundle carries the runbook the exporter serves at /runbook (scripts/bundle.ts): no link needs the internet.
COPY docs/runbook.md ./docs/
# dist/bundle/: k0s-etcdmember-exporter.cjs and bcrypt.node, for this image's architecture.
RUN npm run bundle

FROM ${NODE_IMAGE} AS runtime
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION
LABEL org.opencontainers.image.title="k0s-etcdmember-exporter" \
      org.opencontainers.image.description="Prometheus exporter for etcd membership drift between etcd and EtcdMember objects in k0s clusters" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/dist/bundle/ ./
# A young generation of 1 MB semi-spaces (V8's default grows to 16 MB) and a 64 MB old generation keep RSS near
# 100 MB idle and within about 10 % of it under scrape load, instead of 140 MB idle and 180 MB after load; the V8
# heap in use is about 25 MB with 1,000 EtcdMember objects (docs/development.md, Benchmark).
ENV NODE_OPTIONS="--max-semi-space-size=1 --max-old-space-size=64"
# The files above stay owned by root: the exporter only reads them. uid/gid 1000 is the image's "node" user,
# given by number so Kubernetes can check runAsNonRoot. On a k0s controller the etcd client key
# (/var/lib/k0s/pki/apiserver-etcd-client.key) is root-owned 0600, so the DaemonSet in deploy/kubernetes/
# overrides this with runAsUser 0 and no capabilities; see docs/deploy.md.
USER 1000:1000
EXPOSE 9979
# No curl in slim images: Node asks /healthz itself. Assumes the default --web.listen-address (:9979). The web
# config (--web.config.file) may turn TLS on, and a flag is invisible to this separate process, so it tries https
# first and falls back to plain http. The certificate is not verified: this is a loopback probe of /healthz, which
# stays open without basic auth and says only "ok". Each try has 2 s, within the 5 s timeout. (With
# client_auth_type RequireAndVerifyClientCert the handshake fails and so does this check.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["node", "-e", "const u='//127.0.0.1:9979/healthz',get=(s)=>new Promise((ok,no)=>require(s).get(s+':'+u,{rejectUnauthorized:false,timeout:2000},(r)=>{r.resume();ok(r.statusCode)}).on('error',no).on('timeout',function(){this.destroy(new Error('timeout'))}));get('https').catch(()=>get('http')).then((c)=>process.exit(c===200?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "k0s-etcdmember-exporter.cjs"]

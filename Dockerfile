# One image for every mgrpc service; the command picks the service, e.g.
#   docker run mgrpc dist/services/cluster-state/main.js
# Build stage: full dependencies to generate code (buf + ts-proto), compile
# better-sqlite3 and build dist/ (npm ci runs prepare: gen, then the
# TypeScript build); then dev dependencies are pruned.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json buf.yaml buf.gen.yaml tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY third_party ./third_party
COPY lib ./lib
COPY services ./services
COPY modules ./modules
COPY cli ./cli
COPY sim ./sim
COPY ceph-feed ./ceph-feed
COPY bin ./bin
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

# Runtime stage: slim, non-root, no dev dependencies, no build tools, no
# TypeScript sources: compiled JavaScript only (tsx stays, for modules given
# as TypeScript in MGR_MODULE_PATH).
FROM node:20-bookworm-slim
ENV NODE_ENV=production MGR_HOST=0.0.0.0 MGR_DATA_DIR=/var/lib/mgrpc
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json /app/package-lock.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/bin ./bin
# The volumes' mount points, owned by node: a new named volume takes their owner and mode.
RUN mkdir -p /var/lib/mgrpc/keys /var/lib/mgrpc/tls /var/lib/mgrpc/ca && chown -R node:node /var/lib/mgrpc && chmod 0700 /var/lib/mgrpc/tls /var/lib/mgrpc/ca
USER node
VOLUME ["/var/lib/mgrpc"]
ENTRYPOINT ["node"]
CMD ["dist/services/cluster-state/main.js"]

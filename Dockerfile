# One image for every Topoflow service; the command picks the service (topoflow capture|graph-builder|enricher|api|allinone).
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ libpcap-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY schemas ./schemas
COPY packages ./packages
COPY services ./services
COPY bench/package.json ./bench/package.json
RUN npm ci --omit=dev --no-audit --no-fund && npm install --no-save tsx

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpcap0.8 iproute2 procps ethtool tcpdump && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production
ENTRYPOINT ["node", "/app/packages/cli/bin/topoflow.js"]
CMD ["allinone"]

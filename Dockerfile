# FastPath gateway: Native AOT binary on the runtime-deps image, running as a non-root user.
#   docker build -t fastpath-gateway .
#   docker run --rm -p 8080:8080 -v $PWD/my-gateway.yaml:/etc/fastpath/gateway.yaml fastpath-gateway --config /etc/fastpath/gateway.yaml
# (Listeners in the mounted config must bind 0.0.0.0 to be reachable from outside the container.)
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY core/ core/
COPY hosts/ hosts/
RUN dotnet publish hosts/FastPath.Gateway/FastPath.Gateway.csproj -c Release -r linux-x64 -o /app \
 && rm -f /app/*.dbg /app/*.pdb

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0 AS final
WORKDIR /app
COPY --from=build /app/fastpath-gateway /app/fastpath-gateway
COPY examples/gateway.yaml /app/examples/gateway.yaml
USER $APP_UID
EXPOSE 8080 9901
ENTRYPOINT ["/app/fastpath-gateway"]

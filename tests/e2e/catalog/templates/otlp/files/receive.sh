# One HTTP request on stdin (busybox nc -e): print "otlp: METHOD PATH TYPE BODY" to the
# container's log and answer 200, as an OTLP/HTTP receiver acknowledges an export.
read -r method path _
length=0 type=
while read -r line; do
  line=${line%$(printf '\r')}
  [ -z "$line" ] && break
  case "$line" in
    [Cc]ontent-[Ll]ength:*) length=${line#*: } ;;
    [Cc]ontent-[Tt]ype:*) type=${line#*: } ;;
  esac
done
body=$(/bin/head -c "$length")
echo "otlp: $method $path $type $body" >&2
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}'

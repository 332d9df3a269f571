# A marker line at start (the log shipper must show it), then serve in the foreground.
echo "app started on $(/bin/hostname) as $(/bin/id -u)" >> /var/log/app/app.log
exec /bin/httpd -f -p 8080 -h /www

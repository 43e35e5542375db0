"""BlueZ's battery level: its battery plugin hides the Battery Service (0x180F) from GATT and
shows the level as org.bluez.Battery1.Percentage on the device object, followed here by D-Bus
signal (dbus-fast, which bleak's BlueZ backend already uses)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from dbus_fast.aio import MessageBus

__all__ = ["BLUEZ_BATTERY_INTERFACE", "BatteryWatch"]

BLUEZ_BATTERY_INTERFACE: Final = "org.bluez.Battery1"


class BatteryWatch:
    """BlueZ's org.bluez.Battery1.Percentage of one device: read now, then followed by signal."""

    def __init__(self, bus: MessageBus) -> None:
        self._bus = bus

    @classmethod
    async def start(cls, device_path: str, on_level: Callable[[int], None]) -> BatteryWatch:
        from dbus_fast import BusType, Message, MessageType
        from dbus_fast.aio import MessageBus

        bus = await MessageBus(bus_type=BusType.SYSTEM).connect()

        def on_message(message: Message) -> None:
            if message.message_type is not MessageType.SIGNAL:
                return
            if message.member == "PropertiesChanged" and message.path == device_path:
                interface, changed = message.body[0], message.body[1]
                if interface == BLUEZ_BATTERY_INTERFACE and "Percentage" in changed:
                    on_level(int(changed["Percentage"].value))
            elif message.member == "InterfacesAdded" and message.body[0] == device_path:
                props = message.body[1].get(BLUEZ_BATTERY_INTERFACE, {})
                if "Percentage" in props:
                    on_level(int(props["Percentage"].value))

        try:
            bus.add_message_handler(on_message)
            rules = (
                "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.Properties',"
                f"member='PropertiesChanged',path='{device_path}',arg0='{BLUEZ_BATTERY_INTERFACE}'",
                "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.ObjectManager',"
                f"member='InterfacesAdded',arg0='{device_path}'",
            )
            for rule in rules:
                await bus.call(Message(destination="org.freedesktop.DBus",
                                       path="/org/freedesktop/DBus",
                                       interface="org.freedesktop.DBus", member="AddMatch",
                                       signature="s", body=[rule]))
            reply = await bus.call(Message(destination="org.bluez", path=device_path,
                                           interface="org.freedesktop.DBus.Properties",
                                           member="Get", signature="ss",
                                           body=[BLUEZ_BATTERY_INTERFACE, "Percentage"]))
            if reply is not None and reply.message_type is MessageType.METHOD_RETURN:
                on_level(int(reply.body[0].value))
        except BaseException:
            bus.disconnect()
            raise
        return cls(bus)

    def close(self) -> None:
        self._bus.disconnect()

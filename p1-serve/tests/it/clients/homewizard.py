"""Reads p1-serve as Home Assistant's HomeWizard integration does (python-homewizard-energy)
and prints what the library made of it, as JSON."""
import asyncio
import json
import sys

from homewizard_energy import HomeWizardEnergy


async def main(host):
    async with HomeWizardEnergy(host) as api:
        device = await api.device()
        data = await api.data()
        # The Identify button and the Cloud switch Home Assistant adds (issue 23).
        identified = await api.identify()
        cloud_set = await api.system_set(cloud_enabled=True)
        system = await api.system()
        print(json.dumps({
            "identified": identified,
            "cloud_set": cloud_set,
            "cloud_enabled": system.cloud_enabled,
            "wifi_ssid": data.wifi_ssid,
            "wifi_strength": data.wifi_strength,
            "product_type": device.product_type,
            "serial": device.serial,
            "api_version": device.api_version,
            "unique_meter_id": data.unique_meter_id,
            "total_energy_import_kwh": data.total_energy_import_kwh,
            "total_energy_export_t2_kwh": data.total_energy_export_t2_kwh,
            "active_power_w": data.active_power_w,
            "active_voltage_l1_v": data.active_voltage_l1_v,
            "active_power_average_w": data.active_power_average_w,
            "monthly_power_peak_w": data.monthly_power_peak_w,
            "total_gas_m3": data.total_gas_m3,
            "gas_unique_id": data.gas_unique_id,
        }))


asyncio.run(main(sys.argv[1]))
